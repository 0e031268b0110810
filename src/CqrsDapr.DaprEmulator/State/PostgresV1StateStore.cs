using System.Buffers;
using System.Buffers.Text;
using System.Data;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Components;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace CqrsDapr.DaprEmulator.State;

/// <summary>
/// <c>state.postgresql</c> version <c>v1</c>, following components-contrib v1.16 (<c>state/postgresql/v1</c>,
/// <c>common/component/postgresql/v1/postgresql.go</c>, <c>postgresql_query.go</c>, <c>migrations.go</c>):
/// <list type="bullet">
/// <item>table <c>key text PK, value jsonb, isbinary boolean, insertdate, updatedate, expiredate</c>; the migration
/// level lives under key <c>migrations</c> in the metadata table, serialised across sidecars by a row lock;</item>
/// <item>bytes are stored as a JSON string of base64 with <c>isbinary = true</c>, structured values as jsonb (after the
/// float64 round trip Go puts them through);</item>
/// <item>the ETag is the row's <c>xmin</c>; writes with an ETag are <c>UPDATE … AND xmin = $n</c> (so an ETag on a
/// missing key is a mismatch); first-write without an ETag only replaces expired rows and otherwise fails with
/// "no item was updated", which is not an ETag error;</item>
/// <item>TTL via <c>expiredate</c>: expired rows are invisible to reads (not to queries) and swept periodically;</item>
/// <item>transactions run in one database transaction (a single operation runs without one).</item>
/// </list>
/// </summary>
internal sealed partial class PostgresV1StateStore(ComponentDefinition definition, ILogger logger) : IStateStore, IBulkGetStateStore
{
    private const string MigrationsKey = "migrations";
    private const string LockKey = "lock";
    private const string UniqueViolation = "23505";

    private PostgresV1Metadata settings = null!;
    private Statements sql = null!;
    private PgxPool? pool;
    private CancellationTokenSource? cleanupStop;
    private Task? cleanupLoop;

    public string Name => definition.Name;

    public StateFeatures Features => StateFeatures.ETag | StateFeatures.Transactional | StateFeatures.Query | StateFeatures.Ttl;

    private PgxPool Db => pool ?? throw new InvalidOperationException("state store is not initialised");

    public async Task InitAsync(CancellationToken cancellationToken)
    {
        settings = PostgresV1Metadata.Parse(definition);
        PgxConnectionString connection;
        try
        {
            connection = PgxConnectionString.Parse(settings.ConnectionString);
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException($"failed to parse connection string: {ex.Message}", ex);
        }

        var timeoutSeconds = (int)Math.Ceiling(settings.Timeout.TotalSeconds);
        var builder = connection.Npgsql;

        // pgxpool sizing: maxConns metadata (when > 1), else pool_max_conns, else max(4, NumCPU); idle connections
        // closed after connectionMaxIdleTime, else pgx's 30 minutes.
        builder.MaxPoolSize = settings.MaxConns > 1 ? settings.MaxConns : connection.MaxConns ?? Math.Max(4, Environment.ProcessorCount);
        builder.MinPoolSize = Math.Min(builder.MinPoolSize, builder.MaxPoolSize);
        if (settings.ConnectionMaxIdleTime > TimeSpan.Zero)
        {
            builder.ConnectionIdleLifetime = Math.Max(1, (int)settings.ConnectionMaxIdleTime.TotalSeconds);
        }
        else if (!builder.ContainsKey("Connection Idle Lifetime"))
        {
            builder.ConnectionIdleLifetime = 1800;
        }

        // Opening one physical connection (pgx's connect_timeout, when the string sets it). Waiting for a free
        // connection is not bounded by it: see PgxPool.
        if (!builder.ContainsKey("Timeout"))
        {
            builder.Timeout = Math.Min(timeoutSeconds, 1024);
        }

        // pgx caches prepared statements per connection and does not reset sessions when returning them to the pool.
        builder.MaxAutoPrepare = 64;
        builder.AutoPrepareMinUsages = 2;
        builder.NoResetOnClose = true;
        // pgx has no statement timeout of its own: every bound comes from the operation's context (the caller's, and
        // v1's timeout where v1 adds it: see WithinTimeoutAsync).
        builder.CommandTimeout = 0;
        builder.Pooling = true;
        pool = new PgxPool(new NpgsqlDataSourceBuilder(builder.ConnectionString).Build(), builder.MaxPoolSize);
        sql = new Statements(settings.TableName, settings.MetadataTableName);

        using (var ping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            ping.CancelAfter(settings.Timeout);
            try
            {
                await using var conn = await Db.AcquireAsync(ping.Token);
                await using var probe = new NpgsqlCommand("SELECT 1", conn.Connection);
                await probe.ExecuteScalarAsync(ping.Token);
            }
            catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException or System.Net.Sockets.SocketException)
            {
                throw new InvalidOperationException($"failed to ping the database: {ex.Message}", ex);
            }
        }

        await MigrateAsync(cancellationToken);

        if (settings.CleanupInterval is { } interval)
        {
            cleanupStop = new CancellationTokenSource();
            cleanupLoop = CleanupLoopAsync(interval, cleanupStop.Token);
        }
    }

    public Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            throw new InvalidOperationException("missing key in get operation");
        }

        return WithinTimeoutAsync(
            async token =>
            {
                await using var lease = await Db.AcquireAsync(token);
                await using var command = new NpgsqlCommand(sql.Get, lease.Connection);
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key, NpgsqlDbType = NpgsqlDbType.Text });
                await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleRow, token);
                if (!await reader.ReadAsync(token))
                {
                    return null;
                }

                var row = ReadRow(reader, 0);
                return row.Error is { } error ? throw new InvalidOperationException(error) : new StateEntry(row.Data, row.ETag!, row.ExpiresAt);
            },
            cancellationToken);
    }

    public async Task<IReadOnlyList<BulkGetEntry>> BulkGetAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return [];
        }

        var array = keys as string[] ?? [.. keys];
        var results = new List<BulkGetEntry>(array.Length);
        var found = new HashSet<string>(StringComparer.Ordinal);
        await WithinTimeoutAsync(
            async token =>
            {
                await using var lease = await Db.AcquireAsync(token);
                await using var command = new NpgsqlCommand(sql.BulkGet, lease.Connection);
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = array, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                await using var reader = await command.ExecuteReaderAsync(token);
                while (await reader.ReadAsync(token))
                {
                    if (results.Count >= array.Length)
                    {
                        throw new InvalidOperationException($"query returned more records than expected (expected {array.Length})");
                    }

                    var key = reader.GetString(0);
                    var row = ReadRow(reader, 1);
                    results.Add(new BulkGetEntry(key, row.Data, row.ETag, row.ExpiresAt, row.Error));
                    found.Add(key);
                }

                return true;
            },
            cancellationToken);

        // v1 appends the keys it did not find, in request order, after the rows in the order the database returned them.
        foreach (var key in array)
        {
            if (!found.Contains(key))
            {
                results.Add(new BulkGetEntry(key, ReadOnlyMemory<byte>.Empty, null, null, null));
            }
        }

        return results;
    }

    public Task SetAsync(StateSet request, CancellationToken cancellationToken) => SetAsync(request, null, cancellationToken);

    public Task DeleteAsync(StateDelete request, CancellationToken cancellationToken) => DeleteAsync(request, null, cancellationToken);

    public async Task TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operations);
        switch (operations.Count)
        {
            case 0:
                return;
            case 1:
                // v1 skips the transaction for a single operation.
                await ExecuteAsync(operations[0], null, cancellationToken);
                return;
        }

        // pgtransactions.ExecuteInTransaction: the connection and BEGIN under v1's timeout, the operations under the
        // caller's context (a delete adds the timeout itself), the commit under the timeout again.
        PgxPool.Lease lease;
        NpgsqlTransaction transaction;
        try
        {
            (lease, transaction) = await WithinTimeoutAsync(
                async token =>
                {
                    var taken = await Db.AcquireAsync(token);
                    try
                    {
                        return (taken, await taken.Connection.BeginTransactionAsync(token));
                    }
                    catch
                    {
                        await taken.DisposeAsync();
                        throw;
                    }
                },
                cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or PgxDeadlineException)
        {
            throw new InvalidOperationException($"failed to begin transaction: {ex.Message}", ex);
        }

        await using (lease)
        await using (transaction)
        {
            // Operations run in order and the first failure rolls everything back (disposing the transaction).
            foreach (var operation in operations)
            {
                await ExecuteAsync(operation, lease.Connection, cancellationToken);
            }

            try
            {
                await WithinTimeoutAsync(async token => { await transaction.CommitAsync(token); return true; }, cancellationToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or PgxDeadlineException)
            {
                throw new InvalidOperationException($"failed to commit transaction: {ex.Message}", ex);
            }
        }
    }

    public async Task<QueryResponse> QueryAsync(StateQuery query, CancellationToken cancellationToken)
    {
        var built = PostgresV1Query.Build(query, settings.TableName);
        // v1 runs queries under the caller's context only, without a timeout of its own.
        await using var lease = await Db.AcquireAsync(cancellationToken);
        await using var command = new NpgsqlCommand(built.Sql, lease.Connection);
        foreach (var parameter in built.Parameters)
        {
            command.Parameters.Add(parameter switch
            {
                long n => new NpgsqlParameter<long> { TypedValue = n, NpgsqlDbType = NpgsqlDbType.Bigint },
                _ => new NpgsqlParameter<string> { TypedValue = (string)parameter, NpgsqlDbType = NpgsqlDbType.Text },
            });
        }

        var results = new List<QueryItem>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                // The raw jsonb, even for binary rows (their JSON string of base64 is not decoded by v1's query).
                results.Add(new QueryItem(
                    reader.GetString(0),
                    reader.GetFieldValue<byte[]>(1),
                    reader.GetFieldValue<uint>(2).ToString(CultureInfo.InvariantCulture)));
            }
        }

        return new QueryResponse(results, built.NextToken(results.Count));
    }

    public async ValueTask DisposeAsync()
    {
        if (cleanupStop is not null)
        {
            await cleanupStop.CancelAsync();
            try
            {
                await cleanupLoop!;
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }

            cleanupStop.Dispose();
        }

        if (pool is not null)
        {
            await pool.DisposeAsync();
        }
    }

    private Task ExecuteAsync(StateOperation operation, NpgsqlConnection? connection, CancellationToken cancellationToken) =>
        operation switch
        {
            { Set: { } set } => SetAsync(set, connection, cancellationToken),
            { Delete: { } delete } => DeleteAsync(delete, connection, cancellationToken),
            _ => throw new InvalidOperationException("unsupported operation"),
        };

    private async Task SetAsync(StateSet request, NpgsqlConnection? connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Key.Length == 0)
        {
            throw new InvalidOperationException("missing key in set operation");
        }

        var value = request.Value.IsBinary ? Base64JsonString(request.Value.Data) : WholeArray(GoFormat.ThroughFloat64(request.Value.Data));
        var ttl = ParseTtl(request.Metadata);
        uint etag = 0;
        if (request.HasETag)
        {
            etag = ParseETag(request.ETag!);
        }

        var text = request.HasETag ? sql.UpdateWithETag : request.Concurrency == StateConcurrency.FirstWrite ? sql.InsertFirstWrite : sql.Upsert;

        // v1's Set runs under the caller's context only, without a timeout of its own (its wait for a connection too).
        await using var lease = connection is null ? await Db.AcquireAsync(cancellationToken) : null;
        await using var command = new NpgsqlCommand(text, connection ?? lease!.Connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = request.Key, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = request.Value.IsBinary, NpgsqlDbType = NpgsqlDbType.Boolean });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan?> { TypedValue = ttl > 0 ? TimeSpan.FromSeconds(ttl) : null, NpgsqlDbType = NpgsqlDbType.Interval });
        if (request.HasETag)
        {
            command.Parameters.Add(new NpgsqlParameter<uint> { TypedValue = etag, NpgsqlDbType = NpgsqlDbType.Xid });
        }

        var affected = await command.ExecuteNonQueryAsync(cancellationToken);
        if (affected != 1)
        {
            throw request.HasETag
                ? new StateETagMismatchException("possible etag mismatch. error from state store")
                : new InvalidOperationException("no item was updated");
        }
    }

    private async Task DeleteAsync(StateDelete request, NpgsqlConnection? connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Key.Length == 0)
        {
            throw new InvalidOperationException("missing key in delete operation");
        }

        var text = request.HasETag ? sql.DeleteWithETag : sql.Delete;
        var etag = request.HasETag ? ParseETag(request.ETag!) : 0;

        // v1's delete adds its timeout to the caller's context, around the wait for a connection too.
        var affected = await WithinTimeoutAsync(
            async token =>
            {
                await using var lease = connection is null ? await Db.AcquireAsync(token) : null;
                await using var command = new NpgsqlCommand(text, connection ?? lease!.Connection);
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = request.Key, NpgsqlDbType = NpgsqlDbType.Text });
                if (request.HasETag)
                {
                    command.Parameters.Add(new NpgsqlParameter<uint> { TypedValue = etag, NpgsqlDbType = NpgsqlDbType.Xid });
                }

                return await command.ExecuteNonQueryAsync(token);
            },
            cancellationToken);
        if (affected != 1 && request.HasETag)
        {
            throw new StateETagMismatchException("possible etag mismatch. error from state store");
        }
    }

    /// <summary><c>strconv.ParseUint(etag, 10, 32)</c>: the ETag must be an xmin.</summary>
    private static uint ParseETag(string etag)
    {
        if (etag.Length == 0 || etag.AsSpan().IndexOfAnyExceptInRange('0', '9') >= 0)
        {
            throw new StateETagInvalidException($"invalid etag value: strconv.ParseUint: parsing \"{etag}\": invalid syntax");
        }

        return uint.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new StateETagInvalidException($"invalid etag value: strconv.ParseUint: parsing \"{etag}\": value out of range");
    }

    /// <summary><c>state/utils.ParseTTL</c>: a whole number from -1 to MaxInt32; 0 and -1 mean no expiry.</summary>
    private static int ParseTtl(IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue("ttlInSeconds", out var text) || text.Length == 0)
        {
            return 0;
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ttl))
        {
            throw new InvalidOperationException($"error parsing TTL: incorrect value for metadata 'ttlInSeconds': strconv.ParseInt: parsing \"{text}\": invalid syntax");
        }

        return ttl is < -1 or > int.MaxValue
            ? throw new InvalidOperationException("error parsing TTL: incorrect value for metadata 'ttlInSeconds': must be -1 or greater")
            : (int)ttl;
    }

    /// <summary>The JSON string of base64 v1 stores for bytes: <c>json.Marshal(base64.StdEncoding.EncodeToString(b))</c>.</summary>
    private static byte[] Base64JsonString(ReadOnlyMemory<byte> bytes)
    {
        var length = Base64.GetMaxEncodedToUtf8Length(bytes.Length);
        var json = new byte[length + 2];
        json[0] = (byte)'"';
        Base64.EncodeToUtf8(bytes.Span, json.AsSpan(1), out _, out var written);
        json[written + 1] = (byte)'"';
        return json;
    }

    private static byte[] WholeArray(ReadOnlyMemory<byte> memory) =>
        MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : memory.ToArray();

    /// <summary>
    /// v1's <c>readRow</c> from column <paramref name="first"/> on (value, isbinary, xmin, expiredate): bytes come back
    /// from the JSON string of base64; a row that does not decode is a per-row error.
    /// </summary>
    private static (ReadOnlyMemory<byte> Data, string? ETag, DateTimeOffset? ExpiresAt, string? Error) ReadRow(NpgsqlDataReader reader, int first)
    {
        var value = reader.GetFieldValue<byte[]>(first);
        var isBinary = reader.GetBoolean(first + 1);
        var etag = reader.GetFieldValue<uint>(first + 2).ToString(CultureInfo.InvariantCulture);
        DateTimeOffset? expires = reader.IsDBNull(first + 3) ? null : new DateTimeOffset(reader.GetFieldValue<DateTime>(first + 3), TimeSpan.Zero);
        if (!isBinary)
        {
            return (value, etag, expires, null);
        }

        return TryDecodeBinary(value, out var data, out var error) ? (data, etag, expires, null) : (ReadOnlyMemory<byte>.Empty, null, null, error);
    }

    private static bool TryDecodeBinary(byte[] json, out ReadOnlyMemory<byte> data, out string? error)
    {
        data = ReadOnlyMemory<byte>.Empty;
        var reader = new Utf8JsonReader(json);
        try
        {
            reader.Read();
        }
        catch (JsonException ex)
        {
            error = $"failed to unmarshal JSON data: {ex.Message}";
            return false;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            error = $"failed to unmarshal JSON data: json: cannot unmarshal {reader.TokenType.ToString().ToLowerInvariant()} into Go value of type string";
            return false;
        }

        Memory<byte> text;
        if (reader.ValueIsEscaped)
        {
            text = System.Text.Encoding.UTF8.GetBytes(reader.GetString()!);
        }
        else
        {
            text = json.AsMemory((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
        }

        var status = Base64.DecodeFromUtf8InPlace(text.Span, out var written);
        if (status != OperationStatus.Done)
        {
            error = $"failed to decode base64 data: illegal base64 data at input byte {written}";
            return false;
        }

        data = text[..written];
        error = null;
        return true;
    }

    /// <summary>
    /// v1's migrations (<c>common/component/sql/migrations/postgres</c>): create the metadata table, take a row lock on
    /// its <c>lock</c> row inside a transaction so concurrent sidecars wait, run the missing steps and record the level
    /// under <c>migrations</c>. The level is per metadata table, not per state table.
    /// </summary>
    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await EnsureMetadataTableAsync(cancellationToken);

        using (var insertTimeout = Timeout(TimeSpan.FromSeconds(15), cancellationToken))
        {
            await ExecuteAsync(sql.InsertLockRow, insertTimeout.Token, LockKey);
        }

        await using var lockConnection = await Db.AcquireAsync(cancellationToken);
        await using var lockTransaction = await lockConnection.Connection.BeginTransactionAsync(cancellationToken);
        LogAcquiringMigrationLock(logger);
        using (var lockTimeout = Timeout(TimeSpan.FromMinutes(1), cancellationToken))
        {
            await using var acquire = new NpgsqlCommand(sql.SelectLockRow, lockConnection.Connection);
            acquire.Parameters.Add(new NpgsqlParameter<string> { TypedValue = LockKey, NpgsqlDbType = NpgsqlDbType.Text });
            try
            {
                await acquire.ExecuteScalarAsync(lockTimeout.Token);
            }
            catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException)
            {
                throw new InvalidOperationException($"failed to acquire migration lock (row-level lock on key '{LockKey}'): {ex.Message}", ex);
            }
        }

        // The steps run on other pooled connections while the lock transaction holds the row (as v1 does).
        var level = await ReadMigrationLevelAsync(cancellationToken);
        Func<CancellationToken, Task>[] migrations = [CreateStateTableAsync, AddExpireDateAsync];
        for (var i = level; i < migrations.Length; i++)
        {
            LogPerformingMigration(logger, i + 1);
            try
            {
                await migrations[i](cancellationToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
            {
                throw new InvalidOperationException($"failed to perform migration {i}: {ex.Message}", ex);
            }

            await ExecuteAsync(sql.UpdateMigrationLevel, cancellationToken, (i + 1).ToString(CultureInfo.InvariantCulture));
        }

        // Rolling back releases the lock; the lock row's value does not matter.
        await lockTransaction.RollbackAsync(CancellationToken.None);
    }

    private async Task EnsureMetadataTableAsync(CancellationToken cancellationToken)
    {
        LogCreatingMetadataTable(logger, settings.MetadataTableName);

        // CREATE TABLE IF NOT EXISTS can still fail with 23505 (pg_type_typname_nsp_index) when sidecars race: retry.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteAsync(sql.CreateMetadataTable, cancellationToken);
                return;
            }
            catch (PostgresException ex) when (ex.SqlState == UniqueViolation && attempt < 3)
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (NpgsqlException ex)
            {
                throw new InvalidOperationException($"failed to ensure metadata table exists: failed to create metadata table: {ex.Message}", ex);
            }
        }
    }

    private async Task<int> ReadMigrationLevelAsync(CancellationToken cancellationToken)
    {
        await using var lease = await Db.AcquireAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql.SelectMigrationLevel, lease.Connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MigrationsKey, NpgsqlDbType = NpgsqlDbType.Text });
        var text = await command.ExecuteScalarAsync(cancellationToken) as string;
        if (text is null)
        {
            return 0;
        }

        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var level) && level >= 0
            ? level
            : throw new InvalidOperationException($"invalid migration level found in metadata table: {text}");
    }

    private async Task CreateStateTableAsync(CancellationToken cancellationToken)
    {
        LogCreatingStateTable(logger, settings.TableName);
        try
        {
            await ExecuteAsync(sql.CreateStateTable, cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == UniqueViolation)
        {
            // Another sidecar won the race to create the table.
            LogIgnoringDuplicateTable(logger, settings.TableName);
        }
        catch (PostgresException ex)
        {
            throw new InvalidOperationException($"failed to create state table: '{settings.TableName}', {ex.Message}", ex);
        }
    }

    private async Task AddExpireDateAsync(CancellationToken cancellationToken)
    {
        LogAddingExpireDate(logger, settings.TableName);
        try
        {
            await ExecuteAsync(sql.AddExpireDate, cancellationToken);
        }
        catch (PostgresException ex)
        {
            throw new InvalidOperationException($"failed to update state table: {ex.Message}", ex);
        }
    }

    private async Task<int> ExecuteAsync(string text, CancellationToken cancellationToken, params string[] parameters)
    {
        await using var lease = await Db.AcquireAsync(cancellationToken);
        await using var command = new NpgsqlCommand(text, lease.Connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = parameter, NpgsqlDbType = NpgsqlDbType.Text });
        }

        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// v1's <c>context.WithTimeout(parentCtx, timeout)</c> around one operation, the wait for a connection included. When
    /// that timeout (not the caller) ends it, the error reads as pgx's: <c>context deadline exceeded</c> while waiting for
    /// a connection, <c>timeout: context deadline exceeded</c> once a statement was running. The caller's own
    /// cancellation or deadline propagates as such.
    /// </summary>
    private async Task<T> WithinTimeoutAsync<T>(Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        using var deadline = Timeout(settings.Timeout, cancellationToken);
        try
        {
            return await operation(deadline.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or NpgsqlException && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new PgxDeadlineException(ex is PgxPool.WaitCanceledException ? "context deadline exceeded" : "timeout: context deadline exceeded", ex);
        }
    }

    private static CancellationTokenSource Timeout(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(timeout);
        return source;
    }

    /// <summary>commonsql's garbage collector: a tick every interval, coordinated across sidecars via <c>last-cleanup</c>.</summary>
    private async Task CleanupLoopAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        LogCleanupScheduled(logger, interval);
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            try
            {
                await CleanupExpiredAsync(interval, cancellationToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                LogCleanupFailed(logger, ex.Message);
            }
        }
    }

    private async Task CleanupExpiredAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        await using var lease = await Db.AcquireAsync(cancellationToken);
        await using (var claim = new NpgsqlCommand(sql.UpdateLastCleanup, lease.Connection))
        {
            claim.CommandTimeout = 600;
            claim.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (long)interval.TotalMilliseconds - 100, NpgsqlDbType = NpgsqlDbType.Bigint });
            if (await claim.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                // Another sidecar (or this one) swept less than an interval ago.
                return;
            }
        }

        await using var delete = new NpgsqlCommand(sql.DeleteExpired, lease.Connection);
        delete.CommandTimeout = 600;
        var removed = await delete.ExecuteNonQueryAsync(cancellationToken);
        LogRemovedExpired(logger, removed);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Creating metadata table '{Table}'")]
    private static partial void LogCreatingMetadataTable(ILogger logger, string table);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Acquiring migration lock")]
    private static partial void LogAcquiringMigrationLock(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Performing migration {Level}")]
    private static partial void LogPerformingMigration(ILogger logger, int level);

    [LoggerMessage(Level = LogLevel.Information, Message = "Creating state table '{Table}'")]
    private static partial void LogCreatingStateTable(ILogger logger, string table);

    [LoggerMessage(Level = LogLevel.Debug, Message = "ignoring PostgreSQL duplicate key error for table '{Table}'")]
    private static partial void LogIgnoringDuplicateTable(ILogger logger, string table);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adding expiredate column to state table '{Table}'")]
    private static partial void LogAddingExpireDate(ILogger logger, string table);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule expired data clean up every {Interval}")]
    private static partial void LogCleanupScheduled(ILogger logger, TimeSpan interval);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} expired rows")]
    private static partial void LogRemovedExpired(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Error removing expired data: {Error}")]
    private static partial void LogCleanupFailed(ILogger logger, string error);

    /// <summary>
    /// The statements, with the configured table names spliced in as v1 does (they come from component metadata, may be
    /// schema-qualified, and cannot be bound as parameters); every value is a parameter.
    /// </summary>
    private sealed class Statements(string table, string metadataTable)
    {
        private const string Live = "(expiredate IS NULL OR expiredate >= CURRENT_TIMESTAMP)";

        private readonly string upsert =
            $"INSERT INTO {table} AS t (key, value, isbinary, expiredate) VALUES ($1, $2, $3, CURRENT_TIMESTAMP + $4) " +
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, isbinary = excluded.isbinary, updatedate = CURRENT_TIMESTAMP, expiredate = CURRENT_TIMESTAMP + $4";

        public string Get { get; } = $"SELECT value, isbinary, xmin, expiredate FROM {table} WHERE key = $1 AND {Live}";

        public string BulkGet { get; } = $"SELECT key, value, isbinary, xmin, expiredate FROM {table} WHERE key = ANY($1) AND {Live}";

        /// <summary>Last-write (no ETag): insert or replace.</summary>
        public string Upsert => upsert;

        /// <summary>First-write without ETag: insert, or replace only a row that has expired but was not swept yet.</summary>
        public string InsertFirstWrite => upsert + " WHERE (t.expiredate IS NOT NULL AND t.expiredate < CURRENT_TIMESTAMP)";

        public string UpdateWithETag { get; } =
            $"UPDATE {table} SET value = $2, isbinary = $3, updatedate = CURRENT_TIMESTAMP, expiredate = CURRENT_TIMESTAMP + $4 " +
            "WHERE key = $1 AND xmin = $5 AND (expiredate IS NULL OR expiredate > CURRENT_TIMESTAMP)";

        public string Delete { get; } = $"DELETE FROM {table} WHERE key = $1";

        public string DeleteWithETag { get; } = $"DELETE FROM {table} WHERE key = $1 AND $2 = xmin";

        public string CreateMetadataTable { get; } = $"CREATE TABLE IF NOT EXISTS {metadataTable} (key text NOT NULL PRIMARY KEY, value text NOT NULL)";

        public string InsertLockRow { get; } = $"INSERT INTO {metadataTable} (key, value) VALUES ($1, 'lock') ON CONFLICT (key) DO NOTHING";

        public string SelectLockRow { get; } = $"SELECT value FROM {metadataTable} WHERE key = $1 FOR UPDATE";

        public string SelectMigrationLevel { get; } = $"SELECT value FROM {metadataTable} WHERE key = $1";

        public string UpdateMigrationLevel { get; } = $"INSERT INTO {metadataTable} (key, value) VALUES ('{MigrationsKey}', $1) ON CONFLICT (key) DO UPDATE SET value = $1";

        public string CreateStateTable { get; } =
            $"CREATE TABLE IF NOT EXISTS {table} (key text NOT NULL PRIMARY KEY, value jsonb NOT NULL, isbinary boolean NOT NULL, " +
            "insertdate TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(), updatedate TIMESTAMP WITH TIME ZONE NULL)";

        public string AddExpireDate { get; } = $"ALTER TABLE {table} ADD expiredate TIMESTAMP WITH TIME ZONE";

        public string UpdateLastCleanup { get; } =
            $"INSERT INTO {metadataTable} (key, value) VALUES ('last-cleanup', now()::text) ON CONFLICT (key) DO UPDATE SET value = now()::text " +
            $"WHERE (EXTRACT('epoch' FROM now() - {metadataTable}.value::timestamp with time zone) * 1000)::bigint > $1";

        public string DeleteExpired { get; } = $"DELETE FROM {table} WHERE expiredate IS NOT NULL AND expiredate < now()";
    }
}
