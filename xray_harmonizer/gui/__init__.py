"""The desktop application (PySide6 + pyqtgraph). The only package that imports Qt."""

from xray_harmonizer.gui._compat import protect_bool_singletons

protect_bool_singletons()
