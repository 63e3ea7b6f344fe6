import os

os.environ.setdefault("MDZOOM_DISABLE_PLUGIN_AUTOLOAD", "")
