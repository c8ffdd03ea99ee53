"""Statistics for A/B comparisons: sufficient statistics in, results out (gbstats layering).

settings.py (what to compute) -> statistics.py (n, sum, sum of squares per arm) ->
hypothesis_tests.py (Welch / delta method) -> results.py; correction.py, srm.py and
power.py are pure helpers. Distributions come from scipy and statsmodels.
"""
