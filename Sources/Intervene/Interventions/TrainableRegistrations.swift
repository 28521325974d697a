extension InterventionRegistry {
    /// Registers the trainable intervention types.
    func registerTrainable() {}
}
