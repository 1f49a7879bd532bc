//! What the model adds to the dataset pane: token lengths and word pieces
//! from its tokenizer, and its predictions (misclassified rows, a
//! confusion-matrix cell's rows).

use super::{DatasetPane, RowView};

impl DatasetPane {
    /// The model's tokenizer arrived: token lengths and word pieces.
    pub fn set_tokenizer(
        &mut self,
        tokenizer: crate::text::TextEncoder,
        train: Vec<usize>,
        val: Vec<usize>,
    ) {
        self.token_lens = Some((train, val));
        self.max_len = tokenizer.max_len();
        self.tokenizer = Some(tokenizer);
        self.pieces = None;
    }

    /// Fill in the selected row's word pieces if they are stale.
    pub fn update_pieces(&mut self) {
        let Some(tok) = &self.tokenizer else { return };
        let Some(row) = self.selected_row() else {
            return;
        };
        if self.pieces.as_ref().is_some_and(|(l, _)| *l == row.line) {
            return;
        }
        let line = row.line;
        if let Ok(p) = tok.pieces(row.plain_text()) {
            self.pieces = Some((line, p));
        }
    }

    pub(super) fn is_misclassified(&self, r: &RowView) -> bool {
        self.predictions
            .get(&r.line)
            .is_some_and(|p| p.wrong.unwrap_or(p.label != r.label))
    }

    /// Show only validation rows with `true_label` predicted as `predicted`
    /// (from a confusion-matrix cell).
    pub fn show_confusion_cell(&mut self, true_label: usize) {
        self.showing_val = true;
        self.misclassified_only = !self.predictions.is_empty();
        self.label_filter = Some(true_label);
        self.refresh();
    }
}
