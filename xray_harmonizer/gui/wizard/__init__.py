"""The training wizard (Qt): one module per page, on the API of ``training.sitefit``."""
