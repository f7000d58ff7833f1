"""Listening: credible scores per unit and period."""
