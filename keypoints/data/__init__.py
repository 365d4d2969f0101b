"""The data stage: the Kaggle CSV format, its loader and cache, scaling, flips, splits, synthetic faces."""
