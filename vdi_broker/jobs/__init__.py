"""Guest jobs: kinds, parameter schemas and secret parameters."""
