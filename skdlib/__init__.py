"""skdlib: interpretable neuron embeddings and static knowledge distillation."""

__version__ = "0.1.0"
