"""Operations: checks of the data's invariants and housekeeping, for operators and schedules."""
