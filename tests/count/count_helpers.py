"""Settings shared by the count-model tests."""

#: Sampler settings of the session fit: small but enough for R-hat <= 1.01 on 1,500 respondents.
QUICK = {"draws": 1000, "tune": 700, "chains": 4, "seed": 3, "progressbar": False}
