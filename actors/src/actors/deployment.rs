//! Deploying subtasks: building each subtask's task (with its restored state), starting its actor
//! on an arbiter, wiring its channels and starting it. Used for the first deployment and for every
//! restart of a region. A subtask a fault plan aims at gets its task wrapped in a
//! [`FaultInjectingTask`] and, when its acknowledgements are to be held back, an
//! [`AcknowledgementDelay`] between it and the coordinator.

use crate::actors::job_shared::JobShared;
use crate::actors::messages::{CoordinatorLink, DeployedSubtask, SupervisorLink};
use crate::actors::messages::{Start, Wake};
use crate::actors::subtask::checkpointing::SubtaskCheckpointing;
use crate::actors::subtask::{SubtaskActor, SubtaskParts};
use crate::actors::wiring::wire;
use crate::error::TaskError;
use crate::graph::job_spec::{JobSpec, RestoredCheckpoint};
use crate::graph::subtask_key::SubtaskKey;
use crate::graph::task::{SubtaskInfo, Task};
use crate::graph::task_waker::TaskWaker;
use crate::testing::acknowledgement_delay::AcknowledgementDelay;
use crate::testing::fault_injecting_task::{FaultInjectingTask, FaultSite};
use crate::testing::fault_injection::FaultInjector;
use actix::prelude::*;
use actix_rt::ArbiterHandle;
use std::sync::Arc;

/// Everything a deployment needs.
pub(crate) struct Deployer {
    pub spec: Arc<JobSpec>,
    pub shared: Arc<JobShared>,
    pub arbiters: Vec<ArbiterHandle>,
    pub supervisor: SupervisorLink,
    pub coordinator: Option<CoordinatorLink>,
    /// When the job started (tokio time).
    pub job_start: tokio::time::Instant,
    /// This execution's number within the process.
    execution: u64,
    placement: usize,
}

/// Numbers the executions of jobs in this process.
static EXECUTIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Deployer {
    pub fn new(
        spec: Arc<JobSpec>,
        shared: Arc<JobShared>,
        arbiters: Vec<ArbiterHandle>,
        supervisor: SupervisorLink,
        coordinator: Option<CoordinatorLink>,
        job_start: tokio::time::Instant,
    ) -> Self {
        Deployer {
            spec,
            shared,
            arbiters,
            supervisor,
            coordinator,
            job_start,
            execution: EXECUTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            placement: 0,
        }
    }

    /// Starts the subtasks of `vertices` as deployment `attempt`, restoring `restore`'s state;
    /// replaces their entries in `table`, wires them and starts them.
    pub fn deploy(
        &mut self,
        vertices: &[usize],
        attempt: u32,
        restore: Option<&Arc<RestoredCheckpoint>>,
        table: &mut [Vec<DeployedSubtask>],
    ) {
        let mut addrs: Vec<Vec<Addr<SubtaskActor>>> = vec![Vec::new(); self.spec.vertices.len()];
        for &vertex in vertices {
            let v = &self.spec.vertices[vertex];
            let mut deployed = Vec::with_capacity(v.parallelism as usize);
            for index in 0..v.parallelism {
                let key = SubtaskKey {
                    vertex,
                    index,
                    attempt,
                };
                let addr = self.start_subtask(key, restore);
                deployed.push(DeployedSubtask {
                    key,
                    trigger: addr.clone().recipient(),
                    complete: addr.clone().recipient(),
                    aborted: addr.clone().recipient(),
                    cancel: addr.clone().recipient(),
                    end_source: addr.clone().recipient(),
                });
                addrs[vertex].push(addr);
            }
            table[vertex] = deployed;
        }
        wire(&self.spec, &addrs, &self.shared.metrics, vertices);
        for &vertex in vertices {
            for addr in &addrs[vertex] {
                addr.do_send(Start);
            }
        }
    }

    fn start_subtask(
        &mut self,
        key: SubtaskKey,
        restore: Option<&Arc<RestoredCheckpoint>>,
    ) -> Addr<SubtaskActor> {
        let v = &self.spec.vertices[key.vertex];
        let checkpointing = self.spec.checkpointing.as_ref();
        let info = SubtaskInfo {
            job_id: checkpointing.map_or_else(|| self.spec.name.clone(), |c| c.job_id.clone()),
            first_checkpoint_id: checkpointing.map_or(1, |c| c.first_checkpoint_id),
            task_name: v.name.clone(),
            index: key.index,
            parallelism: v.parallelism,
            max_parallelism: self.spec.max_parallelism,
            attempt: key.attempt,
            output_channels: self.spec.output_channel_counts(key.vertex),
            metrics: self.shared.metrics.clone(),
            job_start: self.job_start,
            restored: restore.cloned(),
            deterministic: self.spec.runtime.deterministic_seed.is_some(),
            execution: self.execution,
            waker: TaskWaker::noop(),
        };
        let site = FaultSite {
            uid: v.uid.clone(),
            subtask: key.index,
            attempt: key.attempt,
        };
        let faults = (self.spec.faults.clone())
            .filter(|plan| plan.aims_at((&site.uid, site.subtask, site.attempt)));
        let arbiter = self.arbiters[self.placement % self.arbiters.len()].clone();
        self.placement += 1;
        let checkpointing = match (&self.spec.checkpointing, &self.coordinator) {
            (Some(cp), Some(coordinator)) => Some(SubtaskCheckpointing {
                storage: cp.storage.clone(),
                coordinator: link_with_faults(coordinator, faults.as_ref(), &site, &arbiter),
                vertex_uid: v.uid.clone(),
                operator_uids: v.operator_uids.clone(),
                aligned: cp.config.mode
                    == crate::config::checkpoint_config::CheckpointingMode::ExactlyOnce,
            }),
            _ => None,
        };
        let id = self.spec.subtask_id(key.vertex, key.index);
        let factory = v.factory.clone();
        let supervisor = self.supervisor.clone();
        let counters = self.shared.metrics.subtask(&v.name, key.index);
        let paced = self.spec.runtime.deterministic_seed.is_some();
        SubtaskActor::start_in_arbiter(&arbiter, move |ctx| {
            let mut info = info;
            let address = ctx.address();
            info.waker = TaskWaker::new(move || address.do_send(Wake));
            let task = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| factory(&info)))
                .unwrap_or_else(|p| Err(TaskError::from_panic(p)));
            let task = match faults {
                Some(plan) => task.map(|inner| {
                    let abandon = ctx.address().recipient();
                    Box::new(FaultInjectingTask::new(inner, plan, site, abandon)) as Box<dyn Task>
                }),
                None => task,
            };
            SubtaskActor::new(SubtaskParts {
                key,
                id,
                task,
                supervisor,
                counters,
                checkpointing,
                paced,
            })
        })
    }
}

/// The coordinator link of the subtask at `site`: `link` itself, or with its acknowledgements
/// going through an [`AcknowledgementDelay`] on `arbiter` when `faults` hold them back.
fn link_with_faults(
    link: &CoordinatorLink,
    faults: Option<&Arc<FaultInjector>>,
    site: &FaultSite,
    arbiter: &ArbiterHandle,
) -> CoordinatorLink {
    let mut link = link.clone();
    if let Some(plan) =
        faults.filter(|p| p.delays_acknowledgements((&site.uid, site.subtask, site.attempt)))
    {
        let (ack, plan, site) = (link.ack.clone(), plan.clone(), site.clone());
        let delay = AcknowledgementDelay::start_in_arbiter(arbiter, move |_| {
            AcknowledgementDelay::new(ack, plan, site)
        });
        link.ack = delay.recipient();
    }
    link
}
