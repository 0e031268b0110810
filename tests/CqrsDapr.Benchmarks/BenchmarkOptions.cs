using System.Globalization;

namespace CqrsDapr.Benchmarks;

/// <summary>The command line: what to drive, how hard and for how long. <c>--quick</c> changes the defaults only.</summary>
internal sealed record BenchmarkOptions
{
    public const string Help = """
        CqrsDapr system benchmark: drives a RUNNING system through its gateway only and prints figures against targets.
        Start the system first, with the gateway's rate limit raised (README, "System benchmark"), then:
          dotnet run -c Release --project tests/CqrsDapr.Benchmarks [-- options]

        Options:
          --url <url>              the gateway (default http://localhost:8080)
          --quick                  a smoke run of a few seconds (shorter phases, fewer steps)
          --rates <n,n,...>        create steps in creates/s, open loop (default 500,1000,1500,2000; quick 500,1000)
          --step-seconds <s>       length of each create step (default 5; quick 1)
          --idle-seconds <s>       the idle system's CPU, measured right after the warm-up (default 30; quick 2)
          --idle-settle-seconds <s>
                                   then measured again, settled, after this long without requests (the JIT's last
                                   tier-up and the databases' writes after the warm-up are over; default 120; quick 0)
          --warmup-seconds <s>     warm-up at ≤ 100 creates/s plus token reads, not measured: tiered JIT finishes
                                   (default 45; quick 1)
          --lag-rate <n,n,...>     writes/s while measuring consistency lag, one phase each (default 100,1000; quick 100)
          --lag-seconds <s>        length of the consistency-lag phase (default 10; quick 2)
          --workers <n,n,...>      concurrent GET workers, closed loop, one run each (default 32,64; quick 32)
          --get-seconds <s>        length of each GET run (default 5; quick 2)
          --connections <n>        most connections to the gateway (default 1024)
          --root-pid <pid>         the system's processes are this process's descendants (default: found from the
                                   gateway's port, see below)
          --apphost-pid <pid>      the system's processes are those of this AppHost (the descendants of the dcp it
                                   started, which runs detached from it)
          --overload               after the phases above, the overload section (below)
          --only-overload          the overload section alone (after the warm-up), none of the phases above
          --overload-seconds <s>   length of each overload phase (default 60; quick 5)
          --capacity-reads <n>     GET/s taken as the reads' capacity: no probe (default: the best GET/s of the GET
                                   phase, or a 5 s closed-loop probe with 32 workers under --only-overload)
          --capacity-creates <n>   creates/s taken as the creates' capacity: no probe (default: the highest sustained
                                   create step, or a 5 s closed-loop probe with 32 workers)
          --chart <path>           write the overload section's chart there (PNG): goodput and admitted p99 against
                                   offered load for reads, creates and the mix
          --help                   this text

        Processes (memory, CPU, sidecar kind) are those of the system under test only: the process listening on the
        gateway's port, then its nearest ancestor that is an orchestrator (Aspire's dcp, which owns the port itself
        when it proxies the endpoint, or the Dapr CLI of `dapr run -f`), and every descendant of that (under Aspire
        also the dcp API server above it and the AppHost). Other systems on the machine are never counted. For a
        system started by hand, give the shell that started it: --root-pid $$.
        Each phase prints, per process, % of one core and CPU µs per operation; create steps and the lag phase also
        with the wait until their last write is visible (incl. catch-up).

        The overload section drives reads (GET by id), creates and both together open loop at 0.5×, 1×, 2× and 4×
        their capacity, then at 0.5× again (recovery), each phase --overload-seconds long; then reads at 0.25× alone
        and beside creates at 4× (isolation). Per phase: offered, sent (the generator's own limit shows here), goodput
        (2xx), refusals by kind (503 "overloaded", 429, other statuses, no answer), admitted and refusal latency, CPU,
        peak open file descriptors and sockets per process, and any process that exited or appeared. At the end every
        create answered 2xx is read back with its token, a sample of the creates refused "overloaded" is sent again
        (409 duplicate-sku would mean it had been created), and the section's targets are printed.
        """;

    public Uri Gateway { get; init; } = new("http://localhost:8080");
    public bool Quick { get; init; }
    public IReadOnlyList<int> Rates { get; init; } = [500, 1000, 1500, 2000];
    public double StepSeconds { get; init; } = 5;
    public double WarmupSeconds { get; init; } = 45;
    public double IdleSeconds { get; init; } = 30;

    public double IdleSettleSeconds { get; init; } = 120;
    public IReadOnlyList<int> LagRates { get; init; } = [100, 1000];
    public double LagSeconds { get; init; } = 10;
    public IReadOnlyList<int> Workers { get; init; } = [32, 64];
    public double GetSeconds { get; init; } = 5;
    public int Connections { get; init; } = 1024;
    public int? RootPid { get; init; }
    public int? AppHostPid { get; init; }
    public bool Overload { get; init; }
    public bool OnlyOverload { get; init; }
    public double OverloadSeconds { get; init; } = 60;
    public double? CapacityReads { get; init; }
    public double? CapacityCreates { get; init; }
    public string? ChartPath { get; init; }

    /// <summary>The options, or null with <paramref name="error"/> set (null too for --help, without an error).</summary>
    public static BenchmarkOptions? Parse(string[] args, out string? error)
    {
        error = null;
        var quick = args.Contains("--quick", StringComparer.Ordinal);
        var options = quick
            ? new BenchmarkOptions { Quick = true, Rates = [500, 1000], StepSeconds = 1, WarmupSeconds = 1, IdleSeconds = 2, IdleSettleSeconds = 0, LagRates = [100], LagSeconds = 2, Workers = [32], GetSeconds = 2, OverloadSeconds = 5 }
            : new BenchmarkOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "--quick")
            {
                continue;
            }

            if (name is "--overload" or "--only-overload")
            {
                options = options with { Overload = true, OnlyOverload = options.OnlyOverload || name is "--only-overload" };
                continue;
            }

            if (name is "--help" or "-h")
            {
                return null;
            }

            if (i + 1 >= args.Length)
            {
                error = $"{name} needs a value (or is unknown).";
                return null;
            }

            var value = args[++i];
            try
            {
                options = name switch
                {
                    "--url" => options with { Gateway = new Uri(value, UriKind.Absolute) },
                    "--rates" => options with { Rates = Positives(value) },
                    "--step-seconds" => options with { StepSeconds = Positive(value) },
                    "--warmup-seconds" => options with { WarmupSeconds = double.Parse(value, CultureInfo.InvariantCulture) },
                    "--lag-rate" or "--lag-rates" => options with { LagRates = Positives(value) },
                    "--idle-seconds" => options with { IdleSeconds = Positive(value) },
                    "--idle-settle-seconds" => options with { IdleSettleSeconds = double.Parse(value, CultureInfo.InvariantCulture) },
                    "--lag-seconds" => options with { LagSeconds = Positive(value) },
                    "--workers" => options with { Workers = Positives(value) },
                    "--get-seconds" => options with { GetSeconds = Positive(value) },
                    "--connections" => options with { Connections = (int)Positive(value) },
                    "--root-pid" => options with { RootPid = (int)Positive(value) },
                    "--apphost-pid" => options with { AppHostPid = (int)Positive(value) },
                    "--overload-seconds" => options with { OverloadSeconds = Positive(value) },
                    "--capacity-reads" => options with { CapacityReads = Positive(value) },
                    "--capacity-creates" => options with { CapacityCreates = Positive(value) },
                    "--chart" => options with { ChartPath = value },
                    _ => throw new FormatException("unknown option"),
                };
            }
            catch (FormatException exception)
            {
                error = $"{name} {value}: {exception.Message}";
                return null;
            }
        }

        return options;
    }

    /// <summary>The settings as one line, for the report.</summary>
    public string Describe()
    {
        var phases = OnlyOverload
            ? string.Create(CultureInfo.InvariantCulture, $"{WarmupSeconds:0.#} s warm-up, no other phase; ")
            : string.Create(CultureInfo.InvariantCulture,
                $"creates {string.Join('/', Rates)}/s × {StepSeconds:0.#} s after {WarmupSeconds:0.#} s warm-up; idle {IdleSeconds:0.#} s (again after {IdleSettleSeconds:0.#} s); lag at {string.Join('/', LagRates)}/s × {LagSeconds:0.#} s each; GET workers {string.Join('/', Workers)} × {GetSeconds:0.#} s; ");
        var overload = !Overload ? "" : string.Create(CultureInfo.InvariantCulture,
            $"overload phases {OverloadSeconds:0.#} s each, capacity reads {(CapacityReads is { } reads ? $"{reads:0}/s" : "measured")}, creates {(CapacityCreates is { } creates ? $"{creates:0}/s" : "measured")}{(ChartPath is null ? "" : $", chart {ChartPath}")}; ");
        return $"url {Gateway}, {(Quick ? "quick" : "full")}; {phases}{overload}≤ {Connections} connections";
    }

    private static double Positive(string value)
    {
        var number = double.Parse(value, CultureInfo.InvariantCulture);
        return number > 0 ? number : throw new FormatException("must be positive");
    }

    private static int[] Positives(string value) =>
        [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => (int)Positive(v))];
}
