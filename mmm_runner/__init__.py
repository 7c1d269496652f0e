"""mmm_runner: Bayesian marketing mix models on Stan, from one YAML file."""

__version__ = "0.1.0"
