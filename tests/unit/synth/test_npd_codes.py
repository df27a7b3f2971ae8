"""UPNs and academic-year labels."""

import numpy as np

from sendlink.synth.npd import UPN_CHECK_LETTERS, academic_year_label, upn_check_letter


def test_upn_check_letter_worked_example():
    # Digits 8 0 1 2 3 4 5 2 1 0 0 1 times weights 2..13:
    # 16+0+4+10+18+28+40+18+10+0+0+13 = 157; 157 mod 23 = 19 -> 'W'
    # (A=0 ... H=7, J=8 ... N=12, P=13, Q, R=15, T=16, U, V, W=19).
    assert upn_check_letter(np.array(["801234521001"]))[0] == "W"


def test_upn_check_table_skips_confusable_letters():
    assert len(UPN_CHECK_LETTERS) == 23
    assert not set("IOS") & set(UPN_CHECK_LETTERS)


def test_academic_year_labels():
    assert academic_year_label(2022) == "2021/22"
    assert academic_year_label(np.array([2016, 2025, 2016])).tolist() == ["2015/16", "2024/25", "2015/16"]
