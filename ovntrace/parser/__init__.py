"""Text in, model out: ``.lark`` grammars and the transformers that build :mod:`ovntrace.model`.

Pure: no I/O (beyond the grammar cache), no Rich.
"""

from ovntrace.parser.document import parse

__all__ = ["parse"]
