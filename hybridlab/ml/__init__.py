"""Machine-learning workbench: search CV, data optimization, gradient-based HPO."""
