"""Serve qlab's JupyterLab frontend (build/) with Debian's jupyterlab_server.

This is JupyterLab's examples/app server (v3.6.8) for the bundle built here
by `npm ci && npm run build`: jupyterlab_server's LabServerApp, run as a
jupyter_server extension, serves the page, the settings schemas and themes
copied into build/, and the REST APIs JupyterLab 3.6 talks to (settings,
workspaces, translations); jupyter_server serves contents, kernels,
sessions and kernelspecs. It needs python3-jupyter-server (1.x or 2.x)
and python3-jupyterlab-server (2.10 or newer), nothing from PyPI.

Usage (any jupyter_server option works, e.g. --ServerApp.token=...):

    python3 main.py --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=NOTEBOOKS
"""

import json
import os

from jupyter_core.paths import jupyter_config_dir
from jupyterlab_server import LabServerApp
from traitlets import Unicode

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")

with open(os.path.join(HERE, "package.json"), encoding="utf-8") as f:
    VERSION = json.load(f)["version"]


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": QlabLab}]


class QlabLab(LabServerApp):
    """JupyterLab 3.6 built from npm packages, with Jupyter widgets."""

    name = "qlab_lab"
    extension_url = "/lab"
    default_url = "/lab"
    load_other_extensions = False
    app_name = "JupyterLab (qlab)"
    app_version = VERSION
    app_settings_dir = os.path.join(BUILD, "application_settings")
    schemas_dir = os.path.join(BUILD, "schemas")
    static_dir = BUILD
    templates_dir = os.path.join(HERE, "templates")
    themes_dir = os.path.join(BUILD, "themes")
    # A user's settings and workspaces live where JupyterLab keeps them,
    # not in the build output, which may be read-only.
    user_settings_dir = Unicode(
        os.path.join(jupyter_config_dir(), "lab", "user-settings"),
        config=True, help="Directory of the user's settings overrides.")
    workspaces_dir = Unicode(
        os.path.join(jupyter_config_dir(), "lab", "workspaces"),
        config=True, help="Directory of saved workspaces.")

    def initialize_settings(self):
        if not os.path.isfile(os.path.join(BUILD, "bundle.js")):
            raise SystemExit(f"{BUILD}/bundle.js is missing: run `npm ci && npm run build` in {HERE}")
        super().initialize_settings()
        # No terminal plugin is built in.
        self.serverapp.web_app.settings["terminals_available"] = False


if __name__ == "__main__":
    QlabLab.launch_instance()
