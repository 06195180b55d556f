"""Medication-class matcher for ketamine-relevant interactions.

``classify(generic_name)`` maps a medication name to one of the interaction classes kapcare flags,
or ``None`` when the name is not on these lists (the caller then asks a human to review it).

Classes and why they matter (docs/clinical-reference.md §4; SPRAVATO prescribing information,
sections 7 and the REMS patient monitoring form):

- ``"benzodiazepine"``: may blunt the antidepressant response to ketamine.
- ``"lamotrigine"``: may blunt the response (reduces glutamate release).
- ``"maoi"``: may raise blood pressure (esketamine label, section 7).
- ``"psychostimulant"``: may raise blood pressure (esketamine label, section 7).
- ``"cns_depressant"``: adds to sedation (esketamine label, section 7: "CNS depressants"); this
  includes the non-benzodiazepine hypnotics the REMS form records.

The lists hold common US/international generic names, plus a few common brand names as aliases.
Matching ignores case, surrounding spaces, strengths and salt words ("lorazepam 1 mg",
"Methylphenidate HCl ER" both match). They are not exhaustive: an unmatched name is never proof
that a drug is safe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from kapcare.errors import FieldInvalid

CLASSES = ("maoi", "psychostimulant", "benzodiazepine", "lamotrigine", "cns_depressant")
"""The interaction classes, in the order used when a combination product matches several."""

SOURCE = (
    "SPRAVATO (esketamine) prescribing information, section 7 (CNS depressants, "
    "psychostimulants, MAOIs) and REMS patient monitoring form; APA consensus, Sanacora et al. "
    "2017 (benzodiazepines and lamotrigine may attenuate response)"
)

# fmt: off
GENERIC_NAMES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "benzodiazepine": frozenset(
            {
                "alprazolam", "bromazepam", "chlordiazepoxide", "clobazam", "clonazepam",
                "clorazepate", "diazepam", "estazolam", "flunitrazepam", "flurazepam",
                "loprazolam", "lorazepam", "lormetazepam", "midazolam", "nitrazepam",
                "oxazepam", "prazepam", "quazepam", "remimazolam", "temazepam", "triazolam",
            }
        ),
        "lamotrigine": frozenset({"lamotrigine"}),
        "maoi": frozenset(
            {
                "isocarboxazid", "phenelzine", "tranylcypromine", "selegiline", "rasagiline",
                "safinamide", "moclobemide",
                # not marketed as antidepressants but are MAO inhibitors:
                "linezolid", "methylene blue", "methylthioninium chloride", "procarbazine",
            }
        ),
        "psychostimulant": frozenset(
            {
                "amphetamine", "dextroamphetamine", "levoamphetamine", "lisdexamfetamine",
                "methamphetamine", "mixed amphetamine salts", "methylphenidate",
                "dexmethylphenidate", "serdexmethylphenidate", "modafinil", "armodafinil",
                "solriamfetol", "phentermine", "diethylpropion", "phendimetrazine",
                "benzphetamine",
            }
        ),
        "cns_depressant": frozenset(
            {
                # non-benzodiazepine hypnotics ("Z-drugs") and orexin antagonists
                "zolpidem", "zaleplon", "zopiclone", "eszopiclone", "suvorexant",
                "lemborexant", "daridorexant",
                # opioids
                "buprenorphine", "butorphanol", "codeine", "dihydrocodeine", "fentanyl",
                "hydrocodone", "hydromorphone", "levorphanol", "meperidine", "pethidine",
                "methadone", "morphine", "nalbuphine", "oxycodone", "oxymorphone",
                "pentazocine", "tapentadol", "tramadol",
                # barbiturates
                "butalbital", "phenobarbital", "pentobarbital", "secobarbital", "primidone",
                # gabapentinoids
                "gabapentin", "gabapentin enacarbil", "pregabalin",
                # sedating antihistamines
                "diphenhydramine", "doxylamine", "hydroxyzine", "promethazine",
                # muscle relaxants
                "baclofen", "carisoprodol", "cyclobenzaprine", "metaxalone", "methocarbamol",
                "tizanidine", "chlorzoxazone",
                # other sedatives
                "sodium oxybate", "oxybate", "chloral hydrate", "meprobamate",
                "dexmedetomidine", "trazodone", "mirtazapine", "quetiapine",
            }
        ),
    }
)
"""Generic names per class (lower case)."""

BRAND_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "xanax": "alprazolam", "klonopin": "clonazepam", "rivotril": "clonazepam",
        "valium": "diazepam", "ativan": "lorazepam", "restoril": "temazepam",
        "halcion": "triazolam", "librium": "chlordiazepoxide", "onfi": "clobazam",
        "lamictal": "lamotrigine",
        "nardil": "phenelzine", "parnate": "tranylcypromine", "marplan": "isocarboxazid",
        "emsam": "selegiline", "azilect": "rasagiline", "zyvox": "linezolid",
        "adderall": "mixed amphetamine salts", "vyvanse": "lisdexamfetamine",
        "dexedrine": "dextroamphetamine", "ritalin": "methylphenidate",
        "concerta": "methylphenidate", "focalin": "dexmethylphenidate",
        "provigil": "modafinil", "nuvigil": "armodafinil", "sunosi": "solriamfetol",
        "ambien": "zolpidem", "sonata": "zaleplon", "lunesta": "eszopiclone",
        "belsomra": "suvorexant", "neurontin": "gabapentin", "lyrica": "pregabalin",
        "xyrem": "sodium oxybate", "seroquel": "quetiapine", "remeron": "mirtazapine",
        "desyrel": "trazodone", "soma": "carisoprodol", "flexeril": "cyclobenzaprine",
    }
)
"""A few common brand names mapped to their generic names (lower case)."""

_NAME_TO_CLASS: Mapping[str, str] = MappingProxyType(
    {name: cls for cls in reversed(CLASSES) for name in GENERIC_NAMES[cls]}
    | {brand: cls for brand, generic in BRAND_ALIASES.items() for cls in reversed(CLASSES)
       if generic in GENERIC_NAMES[cls]}
)
# fmt: on


def normalize(name: str) -> str:
    """Lower-case ``name`` and collapse punctuation and whitespace to single spaces."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name.lower()).split())


def classify_all(name: str) -> tuple[str, ...]:
    """Return every interaction class whose names occur in ``name`` (whole words), in
    ``CLASSES`` order. A combination product such as "butalbital/acetaminophen/caffeine" or
    "oxycodone and naloxone" is matched by its component. Source: see module ``SOURCE``.
    """
    if not isinstance(name, str):
        raise FieldInvalid("generic_name", "type", f"must be a string, got {name!r}")
    text = f" {normalize(name)} "
    found = {cls for known, cls in _NAME_TO_CLASS.items() if f" {known} " in text}
    return tuple(cls for cls in CLASSES if cls in found)


def classify(generic_name: str) -> str | None:
    """Return the interaction class of a medication, or ``None`` if it is not on the lists.

    Classes: "benzodiazepine", "lamotrigine", "maoi", "psychostimulant", "cns_depressant".
    Case-insensitive; strengths and salt words are ignored. If a combination product matches
    several classes, the first in ``CLASSES`` (most safety-relevant) is returned.
    Source: SPRAVATO prescribing information section 7 and REMS monitoring form; APA consensus
    (Sanacora et al. 2017).
    """
    classes = classify_all(generic_name)
    return classes[0] if classes else None
