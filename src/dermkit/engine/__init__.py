"""One training engine for segmentation and classification: loop, checkpoints, resume, run folders."""
