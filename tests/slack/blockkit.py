"""Every message and view the bot sends, checked with slack_sdk's own block models and limits."""

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View


def check_blocks(blocks: list[dict], limit: int = 50) -> None:
    assert 0 < len(blocks) <= limit, f"{len(blocks)} blocks"
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()
        if raw["type"] == "section":
            assert len(raw.get("text", {}).get("text", "")) <= 3000
            assert len(raw.get("fields", [])) <= 10
        for element in raw.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75


def check_view(view: dict) -> None:
    View(**view).validate_json()
    check_blocks(view["blocks"], limit=100)
    for key in ("title", "submit", "close"):
        if key in view:
            assert len(view[key]["text"]) <= 24
    assert len(view.get("private_metadata", "")) <= 3000
