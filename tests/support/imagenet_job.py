"""A tiny ImageNet-size job: 3 generated classes of 40 px scenes, 32 px crops, one epoch."""

TINY = {
    "teacher_weights": "none",
    "epochs": 1,
    "batch_size": 8,
    "image_size": 32,
    "embed_images": 8,
    "embedding": {"optimizer": "adam", "lr": 0.01, "mode": "dataset_mean", "steps": 4},
    "workers": 0,
    "device": "cpu",
    "synthetic": {"classes": 3, "per_class": 4, "val_per_class": 2, "size": 40},
}
