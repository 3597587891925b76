"""Command line entry point (placeholder until the CLI lands)."""


def main(argv=None) -> int:
    raise SystemExit("rdsplan: command line not built yet")
