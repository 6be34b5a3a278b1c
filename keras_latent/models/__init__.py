"""Model families: one folder each, builders beside the `keras.Model` subclass."""
