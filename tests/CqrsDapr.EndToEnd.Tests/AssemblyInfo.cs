// One system at a time: each is a whole AppHost (two PostgreSQL servers, Redis, three services, two sidecars), and two
// starting together beside the rest of the suite on a 2-core machine pushed first writes past the consistency wait.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
