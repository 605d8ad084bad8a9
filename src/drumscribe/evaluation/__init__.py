"""Metrics (mir_eval onset matching, micro/macro F1), evaluation of a model on a split or a folder,
threshold tuning and the report."""
