"""Prefect flows: sequence the tasks, pass parameters, hold schedules."""
