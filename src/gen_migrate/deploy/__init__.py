"""plan/apply runner: phases, ordering, lock, resume, progress, report."""
