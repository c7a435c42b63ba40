"""The demo data set behind ``orderflow demo``: two sellers, their shops, SKUs and orders.

Not domain: it sits beside ``api/`` (the CLI imports it lazily, only for ``orderflow demo``) and
creates its data through the same services, or their bulk forms, that production uses.
"""
