"""The learn2talk Gaussian avatar: nerfstudio method (config, model, binding, dataparser, viewer) and animation."""
