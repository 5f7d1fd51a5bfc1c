# ruff: noqa  (flows written as users write them: legacy typing, mutable defaults)
"""Parameter descriptions, as griffe's Google parser reads them for Prefect."""

from prefect import flow


@flow
def google_style(a: int = 1, b: int = 2, c: int = 3, d: int = 4, e: int = 5, f: int = 6):
    """Summary line.

    Longer description that mentions Args: inline, which is not a section.

    Arguments:
        a:
        b (int, optional):   Spaced description.
        c: First line

            second paragraph
           confusing indent
        d: "Quoted" text: with a colon.
        e : space before the colon
        not a parameter line
    Keyword Args:
        f: keyword
    """


@flow
def last_section_wins(a: int = 1, b: int = 2):
    """Summary.

    Args:
        a: From the first section.

    Params:
        b: From the last section.
    """


@flow
def no_blank_line_above(a: int = 1):
    """Summary.
    Args:
        a: Not a section without a blank line above.
    """


@flow
def fenced_and_admonitions(a: int = 1, b: int = 2):
    """Summary.

    ```
    Args:
        a: Inside a code fence.
    ```

    Note:
        Args:
            a: Inside a note.

    Examples:
        b: Inside examples.

    Parameters:
      a: Two-space indent.
        continued with four
      b: Second.
    Returns:
      Nothing.
    """


@flow
def blank_line_below_header(a: int = 1):
    """Summary.

    Args:

        a: A blank line below the header hides the section.
    """


@flow
def header_first(a: int = 1, *args, **kwargs):
    """Args:
        a: cleandoc strips the indent of this line's siblings.

    Args:
        *args: Starred names do not match.
        kwargs: Plain names do.
    """
