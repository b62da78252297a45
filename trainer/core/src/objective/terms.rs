//! What one step of the objective reports.

/// The terms of one step's objective Ĵ (Eq. 9), batch means as the epoch record and the progress
/// bar show them.
#[derive(Debug, Default, Clone, Copy)]
pub struct StepTerms {
    /// Mean labeled γ-loss L_γ over the labeled batch.
    pub labeled: f64,
    /// Mean unlabeled U over the unlabeled batch.
    pub unlabeled: f64,
    /// Mean cross-entropy −ln q(y|x) over the labeled batch.
    pub ce: f64,
    /// The estimate Ĵ of J/N that is minimised.
    pub total: f64,
    /// The share of U's class copies enumerated under `enumeration_floor` (docs/model.md §6.5);
    /// None when every class is.
    pub enumerated: Option<f64>,
}
