"""Privacy-preserving record linkage (PPRL): linking on encodings (work in progress, issue 18)."""
