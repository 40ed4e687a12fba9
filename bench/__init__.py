"""Speed, memory and scale benchmarks of bgmatch (`bgmatch bench`, `python -m bench`).

Every case prints our figure beside a reference measured in the same run on the same input,
and their ratio, so the numbers stay comparable on a busy or different machine.
"""
