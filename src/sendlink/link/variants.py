"""Spelling-variant groups of given names common in England.

The ``nicknames`` package knows that Bob is Robert, but not that Mohammed and
Muhammad are one name written two ways: transliteration (Arabic, Urdu,
Bengali) and fashion (Isobel, Isabel, Isabelle) give many children's names
several accepted spellings, and a school and a survey organisation may each
record a different one. No maintained library lists them for England, so
this small table is hand-written; every group is a set of spellings of the
*same* name (not related names: Sophie and Sophia, Amelia and Emilia are
different names and are left out). Entries are already standardised
(lower case, no accents, no punctuation).

Sources: the spellings are those that appear side by side in the ONS "Baby
names in England and Wales" tables for children born 2005-2012 (the cohort
of docs/DOMAIN.md); the grouping itself is a documented assumption.

:data:`SURNAME_VARIANTS` does the same for family names: romanisations of
South Asian, Arabic and Somali surnames (Chowdhury, Choudhury, Chaudhry;
Hussain, Hossain; Rahman, Rehman), as the UK government's "A guide to names
and naming practices" (2006) lists them, and Welsh surnames formed from a
patronymic with ``ap``/``ab`` (ap Rhys -> Price, ab Evan -> Bevan, ap Hywel
-> Powell), written either way (docs/DOMAIN.md, "Names in England's
communities"). Mc/Mac and O' need no table: standardisation runs the
tokens together and removes apostrophes (``O'Neill`` = ``O Neill`` =
``ONeill``), and ``Mc``/``Mac`` are one typing slip apart (the ``close``
level) or equal once :func:`sendlink.link.compare` folds ``mac`` into
``mc``.
"""

from __future__ import annotations

#: Each tuple is one name; the first spelling labels the group.
SPELLING_VARIANTS: tuple[tuple[str, ...], ...] = (
    ("mohammed", "muhammad", "mohammad", "mohamed", "muhammed", "mohamad", "muhamed", "mohammod", "mahammed"),
    ("isobel", "isabel", "isabelle", "isobelle", "izabel", "izabelle"),
    ("aaliyah", "aliyah", "aliya", "aaliya", "alia", "aleah"),
    ("zoe", "zoey", "zoie"),
    ("leah", "lea", "lia"),
    ("layla", "laila", "leila", "lailah", "leyla"),
    ("jayden", "jaden", "jaiden", "jaydon", "jadon"),
    ("aiden", "aidan", "ayden", "aden", "aydan"),
    ("kayden", "kaden", "caden", "kaiden"),
    ("callum", "calum", "kallum"),
    ("connor", "conor", "conner"),
    ("rhys", "reece", "reese", "rees", "reiss"),
    ("lewis", "louis", "luis"),
    ("sean", "shaun", "shawn"),
    ("stephen", "steven"),
    ("philip", "phillip", "filip"),
    ("matthew", "mathew"),
    ("nicholas", "nicolas", "nikolas"),
    ("jacob", "jakob"),
    ("isaac", "isaak", "issac"),
    ("elliot", "elliott", "eliot"),
    ("kieran", "kieron", "ciaran", "kyran"),
    ("dylan", "dillon", "dilan"),
    ("reuben", "ruben"),
    ("zachary", "zachery", "zakary"),
    ("frederick", "frederik", "fredrick"),
    ("thomas", "tomas"),
    ("yusuf", "yousef", "yousuf", "youssef", "yusef"),
    ("ibrahim", "ebrahim"),
    ("hussain", "hussein", "husain", "hussan"),
    ("fatima", "fatimah", "fatema"),
    ("aisha", "ayesha", "aysha", "aishah"),
    ("zainab", "zaynab"),
    ("abdullah", "abdulla"),
    ("ellie", "elly", "elli"),
    ("evie", "evey"),
    ("freya", "freyja"),
    ("lily", "lilly", "lillie", "lili"),
    ("mia", "miya"),
    ("caitlin", "caitlyn", "katelyn", "kaitlyn", "kaitlin"),
    ("niamh", "neve", "neave", "neeve"),
    ("holly", "hollie"),
    ("molly", "mollie"),
    ("millie", "milly"),
    ("abbie", "abby", "abbey", "abi"),
    ("katie", "katy", "katey"),
    ("eleanor", "elinor", "eleanore", "elenor"),
    ("rebecca", "rebekah", "rebeca"),
    ("hannah", "hanna", "hana"),
    ("sarah", "sara"),
    ("madison", "madisyn", "maddison"),
    ("tegan", "teagan", "teigan"),
    ("keira", "kiera", "kira", "kyra"),
    ("amy", "aimee", "aimie"),
    ("megan", "meghan", "meagan"),
    ("lacey", "lacie", "lacy"),
    ("ashley", "ashleigh"),
    ("brooke", "brook"),
    ("chloe", "chloey"),
    ("phoebe", "pheobe"),
    ("jessica", "jesica"),
    ("courtney", "kourtney"),
    ("kyle", "kyal"),
    ("harley", "harlee"),
    ("jamie", "jaime", "jaimie"),
    ("charlie", "charley"),
    ("alfie", "alfy"),
    ("archie", "archy"),
    ("amelie", "amalie"),
    ("jasmine", "jasmin", "yasmin", "yasmine"),
    ("ayaan", "ayan"),
    ("amir", "ameer"),
    ("maryam", "mariam", "miriam"),
    ("hamza", "hamzah"),
    ("bethany", "bethanie"),
    ("natasha", "natassia"),
    # Arabic, Urdu, Bengali and Somali given names: romanisations side by side.
    ("ahmed", "ahmad", "ahmet"),
    ("mustafa", "mustapha", "mostafa", "mustafe"),
    ("hassan", "hasan"),
    ("omar", "umar", "omer"),
    ("osman", "othman", "usman", "uthman"),
    ("abdulrahman", "abdurrahman", "abdelrahman", "abdirahman"),
    ("abdullahi", "abdallah"),
    ("khadija", "khadijah", "khadiija"),
    ("noor", "nur", "nour"),
    ("yasmeen", "yasmin"),
    ("sumaiya", "sumaya", "sumayyah", "sumaiyah"),
    ("rashid", "rasheed", "rashed"),
    ("jamil", "jameel"),
    ("fadumo", "faduma", "fatuma"),
    ("mahamed", "mohamud", "mahamud"),
    ("hamid", "hameed", "hamed"),
    ("sadia", "sadiya"),
    ("tahmina", "tahmeena"),
    ("ruksana", "rukhsana"),
    ("farhan", "farhaan"),
    ("zubair", "zubayr", "zubeir"),
    ("bilal", "belal"),
    ("harpreet", "harprit"),
    ("gurpreet", "gurprit"),
)

#: Spellings of the same family name (standardised: lower case, run together).
SURNAME_VARIANTS: tuple[tuple[str, ...], ...] = (
    ("chowdhury", "choudhury", "chaudhry", "chaudhary", "choudhry", "chowdhry", "chaudhri"),
    ("hussain", "hussein", "hossain", "husain", "hosain", "hussan"),
    ("rahman", "rehman", "rahaman"),
    ("ahmed", "ahmad"),
    ("mahmood", "mahmud", "mehmood", "mahmoud", "mohamud"),
    ("uddin", "udin", "uddeen"),
    ("miah", "mia", "meah", "miya"),
    ("haque", "hoque", "haq", "huq"),
    ("islam", "eslam"),
    ("mohammed", "muhammad", "mohammad", "mohamed", "muhammed", "mohamad"),
    ("hassan", "hasan"),
    ("yousaf", "yusuf", "yousuf", "yousef", "youssef"),
    ("qureshi", "quraishi", "kureshi"),
    ("sheikh", "shaikh", "shaik"),
    ("abdallah", "abdullah", "abdulla"),
    ("abdi", "abdy"),
    ("warsame", "warsama"),
    ("osman", "othman", "usman"),
    ("ibrahim", "ebrahim"),
    # Welsh patronymics: ap/ab + a given name, and the surname it became.
    ("price", "aprhys", "aprice", "apreece"),
    ("bevan", "abevan", "abevans"),
    ("powell", "aphywel", "aphowell", "appowell"),
    ("pritchard", "aprichard"),
    ("pugh", "aphugh"),
    ("bowen", "abowen", "apowen"),
    ("probert", "aprobert"),
    ("parry", "apharry", "apharri"),
    ("prosser", "aprosser"),
    ("bellis", "apellis"),
)
