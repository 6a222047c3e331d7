"""Fit a generalizer to one site's own images: the API shared by ``xray-harmonizer train site``
and the app's training wizard (no Qt here; torch only inside the training process)."""
