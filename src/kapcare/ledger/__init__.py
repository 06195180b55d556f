"""The controlled-substance ledger: ketamine and esketamine (Schedule III) from receipt to
administration, waste, counts and the biennial inventory (docs/architecture.md §15)."""
