"""The bot's modules import each other without a circle (actions -> commands -> audit -> actions was
one): what several listeners share lives in a module they all import."""

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"


def module_name(path: Path) -> str:
    parts = ["bot", *path.relative_to(BOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module of the bot this file imports, at the top or inside a function."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
                found |= {target} if node.module else {f"{base}.{alias.name}" for alias in node.names}
            elif node.module and node.module.split(".")[0] == "bot":
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "bot"}
    return found - {name}


def test_no_module_of_the_bot_imports_itself_back():
    graph = {module_name(p): imports(p) for p in BOT.rglob("*.py")}
    graph = {m: {t for t in targets if t in graph} for m, targets in graph.items()}
    cycles = []

    def visit(module, trail):
        for target in sorted(graph[module]):
            if target in trail:
                cycles.append(trail[trail.index(target) :] + [target])
            elif target not in done:
                visit(target, trail + [target])
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert cycles == []
