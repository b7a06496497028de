"""The reference node agent that runs on a GPU machine (``iog agent``): its key, its signatures, its reports."""
