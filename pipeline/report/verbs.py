"""Self-Instruct's Figure 2: the most common root verbs of the instructions and their direct objects."""

from __future__ import annotations

from pathlib import Path

from matplotlib import patheffects
from matplotlib.colors import to_rgba

from pipeline.records import Record
from pipeline.report.style import FigureResult, colour, new_figure, no_data, save_png
from pipeline.report.verb_noun import verb_noun_counts

# Self-Instruct plots the top 20 verbs and their top 4 nouns; 12 keep the labels readable at report size.
TOP_VERBS = 12
TOP_NOUNS = 4
# White text with a dark outline reads on every palette colour, light or dark.
_OUTLINE = [patheffects.withStroke(linewidth=2.2, foreground="#222222")]
METHOD_NOTE = ("Verbs and objects come from a light rule-based reader, not a parser model (none can be "
               "downloaded here): the root verb is the first word of an imperative instruction after "
               "politeness (\"please\", \"can you\") and a leading \"Given ...,\" clause are stripped; the "
               "object is the first noun-like word after it, skipping determiners, pronouns and common "
               "adjectives. Questions and statements count as \"no verb\".")


def instruction_text(record: Record) -> str:
    if record.instruction:
        return record.instruction
    first_user = next((m.content for m in record.messages or [] if m.role == "user"), "")
    return first_user


def verb_noun_figure(records: list[Record], source: str, out_dir: Path) -> FigureResult:
    key, title = "verb_noun", "Root verbs and their direct objects"
    instructions = [t for t in (instruction_text(r) for r in records) if t.strip()]
    if not instructions:
        return no_data(key, title, "No instructions to read: no data.", METHOD_NOTE)
    verbs, nouns, unparsed = verb_noun_counts(instructions)
    top = verbs.most_common(TOP_VERBS)
    if not top:
        return no_data(key, title, f"None of the {len(instructions)} instructions starts with a verb.",
                       METHOD_NOTE)

    inner_sizes, inner_labels, inner_colours = [], [], []
    outer_sizes, outer_labels, outer_colours = [], [], []
    for i, (verb, count) in enumerate(top):
        base = colour(i)
        inner_sizes.append(count)
        inner_labels.append(verb)
        inner_colours.append(base)
        shown = nouns[verb].most_common(TOP_NOUNS) if verb in nouns else []
        for j, (noun, n) in enumerate(shown):
            outer_sizes.append(n)
            outer_labels.append(noun)
            outer_colours.append(to_rgba(base, 0.75 - 0.12 * j))
        rest = count - sum(n for _, n in shown)
        if rest:
            outer_sizes.append(rest)
            outer_labels.append("")
            outer_colours.append(to_rgba(base, 0.15))

    fig = new_figure(9.0, 9.0)
    ax = fig.add_subplot()
    total = sum(inner_sizes)
    # Inner ring spans radius 0.22 to 0.62; labels sit mid-ring, turned along their wedge so neighbours
    # do not overlap.
    _, inner_texts = ax.pie(
        inner_sizes, radius=0.62, colors=inner_colours, startangle=90, counterclock=False,
        labels=[v if c / total > 0.02 else "" for v, c in zip(inner_labels, inner_sizes)],
        labeldistance=0.68, rotatelabels=True,
        textprops={"fontsize": 9, "color": "white", "weight": "bold", "path_effects": _OUTLINE},
        wedgeprops={"width": 0.4, "edgecolor": "white", "linewidth": 1})
    _, outer_texts = ax.pie(
        outer_sizes, radius=1.0, colors=outer_colours, startangle=90, counterclock=False,
        labels=[n if s / total > 0.012 else "" for n, s in zip(outer_labels, outer_sizes)],
        labeldistance=0.81, rotatelabels=True, textprops={"fontsize": 7.5},
        wedgeprops={"width": 0.38, "edgecolor": "white", "linewidth": 0.8})
    for text in [*inner_texts, *outer_texts]:
        text.set_horizontalalignment("center")
        text.set_verticalalignment("center")
    ax.set_aspect("equal")
    parsed = len(instructions) - unparsed
    ax.set_title(f"{title}: top {len(top)} verbs (inner) and their top {TOP_NOUNS} objects (outer)\n"
                 f"{source}: {parsed:,} of {len(instructions):,} instructions start with a verb", fontsize=11)
    caption = METHOD_NOTE + " Pale outer segments are objects outside the top four or none found."
    return FigureResult(key, title, caption, png=save_png(fig, out_dir, key))
