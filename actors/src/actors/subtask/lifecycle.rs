//! A subtask's lifecycle as one state machine: [`Lifecycle`] and the [`LifecycleEvent`]s that
//! move it. Every transition is in [`Lifecycle::on`]; the actor asks it before acting, so a
//! failure is reported once, a cancelled subtask reports nothing, and a lost one is noticed.
//!
//! ```text
//! Running ──SourceExhausted──▶ SourceExhausted ──InputEnded──▶ InputEnded ──Finished──▶ Finished
//!    └────────────────────────InputEnded──────────────────────────▲
//! Running | SourceExhausted | InputEnded | Finished ──Failed──▶ Failed   (reported)
//! Running | SourceExhausted | InputEnded | Finished ──Abandoned──▶ Abandoned (not reported)
//! Running | SourceExhausted | InputEnded | Abandoned ──ActorStopped──▶ Failed (reported as lost)
//! every state but Cancelled ──Cancelled──▶ Cancelled
//! ```

/// Where a subtask is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// Processing input; a source reads.
    Running,
    /// A source read everything and, with checkpointing, waits for a completed checkpoint that
    /// covers its last records before its input ends.
    SourceExhausted,
    /// Every input ended and the task flushed: it waits for its output to drain and, with
    /// checkpointing, for a completed checkpoint covering what it did (the final checkpoint).
    InputEnded,
    /// Reported finished. It still snapshots when a checkpoint asks it directly and still
    /// receives completion notices.
    Finished,
    /// Failed and reported once; it does no more work.
    Failed,
    /// Stopped at once without a report, as a crashed thread leaves an actor (only a planned
    /// fault does this); stopping its actor reports it as lost.
    Abandoned,
    /// Cancelled by the supervisor; it does no more work and reports nothing.
    Cancelled,
}

/// What happens to a subtask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LifecycleEvent {
    /// Its source read everything.
    SourceExhausted,
    /// Every input ended (for a source: its last records are covered, or it does not
    /// checkpoint).
    InputEnded,
    /// It reports itself finished.
    Finished,
    /// A task call failed, or the task could not be built.
    Failed,
    /// A planned fault stops it without a report.
    Abandoned,
    /// The supervisor cancels it.
    Cancelled,
    /// Its actor stopped.
    ActorStopped,
}

impl Lifecycle {
    /// The state after `event`, or `None` when the event does not apply (it changes nothing,
    /// and the actor does nothing about it).
    pub fn on(self, event: LifecycleEvent) -> Option<Lifecycle> {
        use Lifecycle as S;
        use LifecycleEvent as E;
        let live = matches!(self, S::Running | S::SourceExhausted | S::InputEnded);
        match (self, event) {
            (S::Running, E::SourceExhausted) => Some(S::SourceExhausted),
            (S::Running | S::SourceExhausted, E::InputEnded) => Some(S::InputEnded),
            (S::InputEnded, E::Finished) => Some(S::Finished),
            (_, E::Failed) if live || self == S::Finished => Some(S::Failed),
            (_, E::Abandoned) if live || self == S::Finished => Some(S::Abandoned),
            (_, E::ActorStopped) if live || self == S::Abandoned => Some(S::Failed),
            (S::Cancelled, E::Cancelled) => None,
            (_, E::Cancelled) => Some(S::Cancelled),
            _ => None,
        }
    }

    /// Whether it still calls its task (not failed, abandoned or cancelled).
    pub fn is_active(self) -> bool {
        !matches!(
            self,
            Lifecycle::Failed | Lifecycle::Abandoned | Lifecycle::Cancelled
        )
    }

    /// Whether a source of it still reads.
    pub fn reads(self) -> bool {
        self == Lifecycle::Running
    }

    /// Whether every input ended (it may have finished since).
    pub fn input_ended(self) -> bool {
        matches!(self, Lifecycle::InputEnded | Lifecycle::Finished)
    }
}

#[cfg(test)]
mod tests {
    use super::Lifecycle as S;
    use super::LifecycleEvent as E;

    const ALL: [S; 7] = [
        S::Running,
        S::SourceExhausted,
        S::InputEnded,
        S::Finished,
        S::Failed,
        S::Abandoned,
        S::Cancelled,
    ];

    #[test]
    fn a_bounded_source_goes_from_running_through_exhausted_and_input_ended_to_finished() {
        let path = [E::SourceExhausted, E::InputEnded, E::Finished];
        let end = path
            .iter()
            .try_fold(S::Running, |s, e| s.on(*e))
            .expect("every step applies");
        assert_eq!(end, S::Finished);
        assert_eq!(S::Running.on(E::InputEnded), Some(S::InputEnded));
    }

    #[test]
    fn a_failure_is_reported_once() {
        assert_eq!(S::Running.on(E::Failed), Some(S::Failed));
        assert_eq!(
            S::Finished.on(E::Failed),
            Some(S::Failed),
            "a failed commit"
        );
        assert_eq!(S::Failed.on(E::Failed), None);
        assert_eq!(S::Failed.on(E::ActorStopped), None, "already reported");
    }

    #[test]
    fn a_cancelled_subtask_reports_nothing_more() {
        for state in ALL {
            let cancelled = state.on(E::Cancelled).unwrap_or(state);
            assert_eq!(cancelled, S::Cancelled, "from {state:?}");
            for event in [E::Failed, E::ActorStopped, E::Finished, E::InputEnded] {
                assert_eq!(cancelled.on(event), None, "{event:?}");
            }
        }
    }

    #[test]
    fn an_actor_that_stops_unfinished_and_uncancelled_is_reported_as_lost() {
        for state in [S::Running, S::SourceExhausted, S::InputEnded, S::Abandoned] {
            assert_eq!(state.on(E::ActorStopped), Some(S::Failed), "from {state:?}");
        }
        assert_eq!(S::Finished.on(E::ActorStopped), None);
    }

    #[test]
    fn only_running_and_finished_work_states_call_the_task() {
        let active: Vec<S> = ALL.into_iter().filter(|s| s.is_active()).collect();
        assert_eq!(
            active,
            [S::Running, S::SourceExhausted, S::InputEnded, S::Finished]
        );
        assert!(S::Running.reads() && !S::SourceExhausted.reads());
        assert!(S::Finished.input_ended() && !S::Failed.input_ended());
    }

    #[test]
    fn input_cannot_end_twice_and_only_an_ended_input_finishes() {
        assert_eq!(S::InputEnded.on(E::InputEnded), None);
        assert_eq!(S::Running.on(E::Finished), None);
        assert_eq!(S::SourceExhausted.on(E::SourceExhausted), None);
    }
}
