"""Solver adapters, one folder per backend. The registry imports this package the first time it is read (see
`orbudget.core.registry.load_adapters`); `import orbudget` does not. Importing this package imports every backend
package (each declares itself with `orbudget.core.registry.register_backend`) and every adapter module in it,
in alphabetical order; an adapter module is one that registers methods (a line that starts with ``@register(``,
``register(`` or ``_register(``). No backend library is imported until an adapter runs. A new adapter module or backend folder
needs no line here; the other modules (shared helpers, ``_common.py``, the RCO optimizer, the oracles) are
imported by the code that uses them.
"""

import importlib
import pkgutil
import re
from pathlib import Path

ADAPTER_MODULES: list[str] = []  # what was imported, in order
_REGISTERS = re.compile(r"^[@_]?register\(", re.MULTILINE)  # @register(, register(..)(f), a module's _register(

for _backend in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg):
    _package = importlib.import_module(f"{__name__}.{_backend}")
    for _module in sorted(m.name for m in pkgutil.iter_modules(_package.__path__) if not m.name.startswith("_")):
        if _REGISTERS.search((Path(_package.__path__[0]) / f"{_module}.py").read_text(encoding="utf-8")):
            ADAPTER_MODULES.append(f"{__name__}.{_backend}.{_module}")
            importlib.import_module(ADAPTER_MODULES[-1])
