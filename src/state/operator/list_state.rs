//! The handles of operator list state: [`ListState`] (split over the subtasks on restore) and
//! [`UnionListState`] (every subtask gets every subtask's elements).

use super::registered_state::{ElementsWriter, RegisteredState};
use super::state_kind::{OperatorStateValue, StateKind};
use parking_lot::Mutex;
use std::any::Any;
use std::sync::Arc;

/// A list of `T` held by one operator subtask (Flink's operator `ListState`), declared with
/// [`OperatorStateContext::list_state`](super::OperatorStateContext::list_state).
///
/// It promises: what a checkpoint covers is restored before the first record after a restart;
/// on a restore at another parallelism the elements of all subtasks are split evenly (see
/// [`redistribute`](super::redistribute)), none lost or duplicated. A handle is cheap to clone;
/// clones share the list. Reads never block a snapshot in progress and a snapshot never copies
/// the list while the subtask waits: the first write after a snapshot copies the list once if the
/// snapshot is still being written.
pub struct ListState<T> {
    items: Arc<Mutex<Arc<Vec<T>>>>,
    kind: StateKind,
}

impl<T> Clone for ListState<T> {
    fn clone(&self) -> Self {
        ListState {
            items: self.items.clone(),
            kind: self.kind,
        }
    }
}

impl<T> std::fmt::Debug for ListState<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListState")
            .field("kind", &self.kind)
            .field("len", &self.items.lock().len())
            .finish()
    }
}

impl<T: OperatorStateValue> ListState<T> {
    /// A handle over `items`, recorded as `kind`.
    pub(crate) fn new(kind: StateKind, items: Vec<T>) -> Self {
        ListState {
            items: Arc::new(Mutex::new(Arc::new(items))),
            kind,
        }
    }

    fn write<R>(&self, f: impl FnOnce(&mut Vec<T>) -> R) -> R {
        let mut guard = self.items.lock();
        f(Arc::make_mut(&mut guard))
    }

    /// A copy of the elements, in insertion order.
    pub fn get(&self) -> Vec<T> {
        self.items.lock().as_ref().clone()
    }

    /// Runs `f` over the elements without copying them. `f` may use this handle (it sees the
    /// elements as they were when it was called).
    pub fn with<R>(&self, f: impl FnOnce(&[T]) -> R) -> R {
        let items = self.items.lock().clone();
        f(&items)
    }

    /// Appends `value`.
    pub fn add(&self, value: T) {
        self.write(|items| items.push(value));
    }

    /// Appends every value of `values`.
    pub fn add_all(&self, values: impl IntoIterator<Item = T>) {
        self.write(|items| items.extend(values));
    }

    /// Replaces the elements with `values`.
    pub fn update(&self, values: Vec<T>) {
        *self.items.lock() = Arc::new(values);
    }

    /// Removes every element.
    pub fn clear(&self) {
        self.update(Vec::new());
    }

    /// How many elements it holds.
    pub fn len(&self) -> usize {
        self.items.lock().len()
    }

    /// Whether it holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: OperatorStateValue> RegisteredState for ListState<T> {
    fn kind(&self) -> StateKind {
        self.kind
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn snapshot(&self) -> ElementsWriter {
        let items = self.items.lock().clone();
        Box::new(move || items.iter().map(postcard::to_allocvec).collect())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A list of `T` that, on restore, every subtask gets whole: the union of all subtasks' lists
/// (Flink's union list state), declared with
/// [`OperatorStateContext::union_list_state`](super::OperatorStateContext::union_list_state).
///
/// It reads and writes as a [`ListState`] (through `Deref`). After a restore each subtask holds
/// every subtask's elements, so a function usually keeps only what concerns it (as Flink's Kafka
/// source keeps its own partitions' offsets); what it keeps is what its next snapshot writes, and
/// the next restore unites those again.
pub struct UnionListState<T>(pub(crate) ListState<T>);

impl<T> Clone for UnionListState<T> {
    fn clone(&self) -> Self {
        UnionListState(self.0.clone())
    }
}

impl<T> std::fmt::Debug for UnionListState<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("UnionListState").field(&self.0).finish()
    }
}

impl<T> std::ops::Deref for UnionListState<T> {
    type Target = ListState<T>;
    fn deref(&self) -> &ListState<T> {
        &self.0
    }
}
