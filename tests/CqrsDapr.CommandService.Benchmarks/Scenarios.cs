using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Persistence;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CqrsDapr.CommandService.Benchmarks;

internal static partial class Scenarios
{
    /// <summary>
    /// Commit → publish-call latency at a modest open-loop rate: the relay woken by LISTEN/NOTIFY versus the same relay
    /// polling every 250 ms with notifications off (the poll-based baseline).
    /// </summary>
    public static async Task CommitToPublishLatencyAsync(BenchmarkDatabase databases, int seconds, int commitsPerSecond)
    {
        Console.WriteLine();
        Console.WriteLine($"1. Commit → publish call latency, {commitsPerSecond} commits/s open loop for {seconds} s (one event per commit)");
        Console.WriteLine($"   {"variant",-34} {"events",7} {"p50 ms",8} {"p95 ms",8} {"p99 ms",8} {"max ms",8}");
        await LatencyVariantAsync(databases, "LISTEN/NOTIFY (poll 5 s fallback)", seconds, commitsPerSecond, ("Outbox:ListenForNotifications", "true"), ("Outbox:PollInterval", "00:00:05"));
        await LatencyVariantAsync(databases, "poll every 250 ms, NOTIFY off", seconds, commitsPerSecond, ("Outbox:ListenForNotifications", "false"), ("Outbox:PollInterval", "00:00:00.250"));
        Console.WriteLine("   (latency = publish call start minus the moment the committing SaveChanges returned; target p50 ≤ 5 ms with NOTIFY)");
    }

    private static async Task LatencyVariantAsync(
        BenchmarkDatabase databases, string name, int seconds, int commitsPerSecond, params (string Key, string Value)[] settings)
    {
        var connectionString = await databases.NewMigratedAsync("latency");
        var publisher = new TimingPublisher();
        await using var services = BenchmarkDatabase.Compose(connectionString, publisher, settings);
        var relay = services.GetRequiredService<OutboxRelay>();
        var factory = services.GetRequiredService<IDbContextFactory<WriteDbContext>>();
        await relay.StartAsync(CancellationToken.None);
        await CommitOneAsync(factory, 0); // warm-up: connections, EF model, JIT
        await publisher.WaitForAsync(1);

        var total = seconds * commitsPerSecond;
        var committedAt = new long[total];
        var eventIds = new Guid[total];
        var interval = TimeSpan.FromSeconds(1.0 / commitsPerSecond);
        var commits = new List<Task>(total);
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < total; i++)
        {
            // Open loop: commit i starts at its scheduled time whether or not earlier ones finished; sleep, never spin.
            var due = start + (long)(i * interval.TotalSeconds * Stopwatch.Frequency);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var index = i;
            commits.Add(Task.Run(async () =>
            {
                eventIds[index] = await CommitOneAsync(factory, index + 1);
                committedAt[index] = Stopwatch.GetTimestamp();
            }));
        }

        await Task.WhenAll(commits);
        await publisher.WaitForAsync(total + 1).WaitAsync(TimeSpan.FromSeconds(60));
        await relay.StopAsync(CancellationToken.None);

        var latencies = Enumerable.Range(0, total)
            .Select(i => Stopwatch.GetElapsedTime(committedAt[i], publisher.PublishedAt[eventIds[i]]).TotalMilliseconds)
            .Order()
            .ToArray();
        Console.WriteLine($"   {name,-34} {total,7} {Percentile(latencies, 0.50),8:F2} {Percentile(latencies, 0.95),8:F2} {Percentile(latencies, 0.99),8:F2} {latencies[^1],8:F2}");
    }

    private static async Task<Guid> CommitOneAsync(IDbContextFactory<WriteDbContext> factory, long n)
    {
        await using var db = await factory.CreateDbContextAsync();
        var message = BenchmarkDatabase.NewEvent(BenchmarkDatabase.NewProduct(n));
        db.Outbox.Add(message);
        await db.SaveChangesAsync();
        return message.EventId;
    }

    /// <summary>How fast the relay empties a backlog into a broker that costs nothing, per batch size.</summary>
    public static async Task BacklogDrainAsync(BenchmarkDatabase databases, int rows, int[] batchSizes)
    {
        Console.WriteLine();
        Console.WriteLine($"2. Backlog drain: {rows:N0} pre-inserted rows, one relay, no-op publisher");
        Console.WriteLine($"   {"batch size",-12} {"seconds",8} {"events/s",10}");
        var payload = BenchmarkDatabase.SamplePayload();
        foreach (var batchSize in batchSizes)
        {
            var connectionString = await databases.NewMigratedAsync("drain");
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync();
                await using var insert = new NpgsqlCommand(
                    """
                    INSERT INTO outbox (event_id, aggregate_type, aggregate_id, aggregate_version, event_type, schema_version, payload, occurred_at, correlation_id, attempts)
                    SELECT gen_random_uuid(), 'product', gen_random_uuid()::text, 1, 'ProductCreated', 1, @payload::jsonb, now(), 'bench', 0
                    FROM generate_series(1, @rows)
                    """, connection);
                insert.Parameters.AddWithValue("payload", payload);
                insert.Parameters.AddWithValue("rows", rows);
                insert.CommandTimeout = 600;
                await insert.ExecuteNonQueryAsync();
                await using var vacuum = new NpgsqlCommand("VACUUM ANALYZE outbox", connection) { CommandTimeout = 600 };
                await vacuum.ExecuteNonQueryAsync();
            }

            var publisher = new CountingPublisher(rows);
            await using var services = BenchmarkDatabase.Compose(
                connectionString, publisher, ("Outbox:BatchSize", batchSize.ToString(CultureInfo.InvariantCulture)));
            var relay = services.GetRequiredService<OutboxRelay>();
            var started = Stopwatch.StartNew();
            await relay.StartAsync(CancellationToken.None);
            await publisher.All.WaitAsync(TimeSpan.FromMinutes(10));
            started.Stop();
            await relay.StopAsync(CancellationToken.None);
            Console.WriteLine($"   {batchSize,-12} {started.Elapsed.TotalSeconds,8:F2} {rows / started.Elapsed.TotalSeconds,10:N0}");
        }

        Console.WriteLine("   (target ≥ 5,000 events/s)");
    }

    /// <summary>
    /// Create throughput through EF Core + outbox (one product row and its outbox row per transaction) at N concurrent
    /// writers, as a share of what pgbench gets from the same server for the same two INSERTs in one transaction.
    /// </summary>
    public static async Task CreateThroughputAsync(BenchmarkDatabase databases, int seconds, int writers)
    {
        Console.WriteLine();
        Console.WriteLine($"3. Create throughput, {writers} concurrent writers, {seconds} s each (relay off: the write path alone)");

        var efRate = await EfCreateRateAsync(databases, writers, seconds, autoPrepare: false);
        var efPreparedRate = await EfCreateRateAsync(databases, writers, seconds, autoPrepare: true);
        var pgbenchConnectionString = await databases.NewMigratedAsync("pgbench");
        var pgbenchRate = await PgbenchAsync(databases.Server, pgbenchConnectionString, writers, seconds);

        Console.WriteLine($"   {"pgbench, same two INSERTs, -M prepared (ceiling)",-58} {pgbenchRate,8:N0} tx/s");
        Console.WriteLine($"   {"EF Core + outbox, auto-prepare off",-58} {efRate,8:N0} tx/s  {efRate / pgbenchRate,5:P0} of ceiling");
        Console.WriteLine($"   {"  same, service default (Npgsql auto-prepare)",-58} {efPreparedRate,8:N0} tx/s  {efPreparedRate / pgbenchRate,5:P0} of ceiling");
        Console.WriteLine("   (target ≥ 60 % of the ceiling; client and server share this machine's cores)");

        // The shape of a ProductActor turn: explicit transaction, read the product, save product + outbox, commit.
        // Inside a transaction EF Core wraps SaveChanges in a savepoint (two more statements) unless told not to.
        // A create's id is new, so ProductActor inserts without the SELECT (a unique violation sends it back to the read).
        var withSavepoints = await TurnRateAsync(databases, writers, seconds, savepoints: true, read: true);
        var withoutSavepoints = await TurnRateAsync(databases, writers, seconds, savepoints: false, read: true);
        var unread = await TurnRateAsync(databases, writers, seconds, savepoints: false, read: false);
        Console.WriteLine($"   {"actor-turn shape (BEGIN, SELECT, INSERT ×2, COMMIT), EF savepoints on",-58} {withSavepoints,8:N0} tx/s");
        Console.WriteLine($"   {"  same, savepoints off",-58} {withoutSavepoints,8:N0} tx/s  {withoutSavepoints / withSavepoints - 1,6:+0%;-0%}");
        Console.WriteLine($"   {"  same, no SELECT (what ProductActor does for a create)",-58} {unread,8:N0} tx/s  {unread / withoutSavepoints - 1,6:+0%;-0%} vs the row above");
    }

    private static async Task<double> TurnRateAsync(BenchmarkDatabase databases, int writers, int seconds, bool savepoints, bool read)
    {
        var connectionString = await databases.NewMigratedAsync("turn");
        await using var services = BenchmarkDatabase.Compose(connectionString, new CountingPublisher(int.MaxValue), ("Outbox:Enabled", "false"));
        var factory = services.GetRequiredService<IDbContextFactory<WriteDbContext>>();
        await RunTurnsAsync(factory, writers, TimeSpan.FromSeconds(3), savepoints, read);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var commits = await RunTurnsAsync(factory, writers, TimeSpan.FromSeconds(seconds), savepoints, read);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        Console.WriteLine($"   (turn run, savepoints {(savepoints ? "on" : "off")}, {(read ? "SELECT first" : "no SELECT")}: {commits:N0} creates, client CPU {cpu.TotalMicroseconds / commits:N0} µs per create)");
        return commits / (double)seconds;
    }

    private static async Task<long> RunTurnsAsync(IDbContextFactory<WriteDbContext> factory, int writers, TimeSpan duration, bool savepoints, bool read)
    {
        long commits = 0;
        var stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var n = ((long)w << 40) + (savepoints ? 1L << 39 : 0) + (read ? 0 : 1L << 38);
            while (Stopwatch.GetTimestamp() < stopAt)
            {
                await using var db = await factory.CreateDbContextAsync();
                db.Database.AutoSavepointsEnabled = savepoints;
                await using var transaction = await db.Database.BeginTransactionAsync();
                var product = BenchmarkDatabase.NewProduct(++n);
                if (!read || await db.Products.SingleOrDefaultAsync(p => p.Id == product.Id) is null)
                {
                    db.Products.Add(product);
                }

                db.Outbox.Add(BenchmarkDatabase.NewEvent(product));
                await db.SaveChangesAsync();
                await transaction.CommitAsync();
                Interlocked.Increment(ref commits);
            }
        }));
        await Task.WhenAll(tasks);
        return commits;
    }

    private static async Task<double> EfCreateRateAsync(BenchmarkDatabase databases, int writers, int seconds, bool autoPrepare)
    {
        var connectionString = await databases.NewMigratedAsync("create");
        await using var services = BenchmarkDatabase.Compose(
            connectionString, new CountingPublisher(int.MaxValue), ("Outbox:Enabled", "false"), ("Persistence:AutoPrepareStatements", autoPrepare ? "true" : "false"));
        var factory = services.GetRequiredService<IDbContextFactory<WriteDbContext>>();
        await RunWritersAsync(factory, writers, TimeSpan.FromSeconds(3)); // warm-up: pool, EF model, tiered JIT reaching steady state
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var commits = await RunWritersAsync(factory, writers, TimeSpan.FromSeconds(seconds));
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        Console.WriteLine($"   (EF run{(autoPrepare ? ", auto-prepare" : string.Empty)}: {commits:N0} creates, client CPU {cpu.TotalMicroseconds / commits:N0} µs per create, {cpu.TotalSeconds / seconds:F2} cores busy in this process)");
        return commits / (double)seconds;
    }

    private static async Task<long> RunWritersAsync(IDbContextFactory<WriteDbContext> factory, int writers, TimeSpan duration)
    {
        long commits = 0;
        var stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var n = (long)w << 40;
            while (Stopwatch.GetTimestamp() < stopAt)
            {
                await using var db = await factory.CreateDbContextAsync();
                var product = BenchmarkDatabase.NewProduct(++n);
                db.Products.Add(product);
                db.Outbox.Add(BenchmarkDatabase.NewEvent(product));
                await db.SaveChangesAsync(); // one transaction: both INSERTs, one round trip
                Interlocked.Increment(ref commits);
            }
        }));
        await Task.WhenAll(tasks);
        return commits;
    }

    private static async Task<double> PgbenchAsync(CqrsDapr.TestSupport.PostgresServer server, string connectionString, int clients, int seconds)
    {
        var pgbench = FindPgbench();
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        var payload = BenchmarkDatabase.SamplePayload().Replace("'", "''", StringComparison.Ordinal);
        var script = Path.Combine(Path.GetTempPath(), $"cqrsdapr-create-{Guid.NewGuid():N}.sql");
        await File.WriteAllTextAsync(script, $"""
            BEGIN;
            INSERT INTO products (id, sku, name, description, category, price_amount, price_currency, stock, version, is_deleted, created_at, updated_at)
              VALUES (gen_random_uuid(), 'SKU-' || gen_random_uuid()::text, 'Product', 'A product created by the benchmark.', 'bench', 19.99, 'EUR', 10, 1, false, now(), now());
            INSERT INTO outbox (event_id, aggregate_type, aggregate_id, aggregate_version, event_type, schema_version, payload, occurred_at, correlation_id, attempts)
              VALUES (gen_random_uuid(), 'product', gen_random_uuid()::text, 1, 'ProductCreated', 1, '{payload}'::jsonb, now(), 'bench', 0);
            END;

            """);
        try
        {
            var start = new ProcessStartInfo(pgbench) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in new[]
            {
                "-h", server.Host, "-p", server.Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-n", "-M", "prepared",
                "-c", clients.ToString(CultureInfo.InvariantCulture), "-j", "2", "-T", seconds.ToString(CultureInfo.InvariantCulture),
                "-f", script, database,
            })
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException("pgbench did not start");
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            var text = await output + await errors;
            var tps = Tps().Match(text);
            if (process.ExitCode != 0 || !tps.Success)
            {
                throw new InvalidOperationException($"pgbench failed (exit {process.ExitCode}):\n{text}");
            }

            return double.Parse(tps.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static string FindPgbench()
    {
        const string debianRoot = "/usr/lib/postgresql";
        var candidates = Directory.Exists(debianRoot)
            ? Directory.EnumerateDirectories(debianRoot).OrderDescending().Select(d => Path.Combine(d, "bin", "pgbench"))
            : [];
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("pgbench not found under /usr/lib/postgresql/*/bin (apt-get install postgresql-contrib or postgresql).");
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    [GeneratedRegex(@"tps = ([0-9.]+)")]
    private static partial Regex Tps();
}
