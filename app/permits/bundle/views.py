from typing import Any
def init_app(app: Any) -> None:
    pass
