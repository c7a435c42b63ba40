"""The demo data set behind ``orderflow demo``: two sellers, their shops, SKUs and orders."""
