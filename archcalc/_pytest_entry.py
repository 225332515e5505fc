"""The ``pytest11`` entry point's target: it only requires :mod:`archcalc.pytest_plugin`.

Why a separate module: pluggy refuses to register one module object under two names, and the
entry point (name ``archcalc``) and ``-p archcalc.pytest_plugin`` / ``pytest_plugins =
["archcalc.pytest_plugin"]`` would otherwise register the same module twice. pytest imports a
``pytest_plugins`` requirement only when no plugin of that name is registered, so the hooks are
registered exactly once whichever way (or ways) the plugin is loaded. ``-p no:archcalc`` disables it.
"""

pytest_plugins = ["archcalc.pytest_plugin"]
