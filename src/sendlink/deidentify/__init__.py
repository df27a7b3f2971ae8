"""De-identification: from linked identifiable data to the research extract.

Run by DfE and the survey organisation together (DESIGN.md section 2):
DfE derives the NPD attributes of linked pupils and pseudonymises them; the
survey organisation attaches answers through a mapping only the two hold;
researchers receive the joined, de-identified file in ``data/research/``.
"""
