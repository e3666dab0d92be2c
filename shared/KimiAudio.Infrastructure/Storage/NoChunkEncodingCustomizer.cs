using Amazon.Runtime;
using Amazon.Runtime.Internal;

namespace KimiAudio.Infrastructure.Storage;

/// <summary>
/// Turns off aws-chunked request bodies for every S3 request. s3rver stores the chunk framing as object data (silent
/// corruption), and PutObjectRequest.UseChunkEncoding does not reach the UploadPart calls of TransferUtility.
/// </summary>
internal sealed class NoChunkEncodingCustomizer : IRuntimePipelineCustomizer
{
    private static int registered;

    public string UniqueName => "KimiAudio.NoChunkEncoding";

    /// <summary>Registers the customizer once per process; it applies to S3 clients created afterwards.</summary>
    public static void RegisterOnce()
    {
        if (Interlocked.Exchange(ref registered, 1) == 0)
            RuntimePipelineCustomizerRegistry.Instance.Register(new NoChunkEncodingCustomizer());
    }

    public void Customize(Type type, RuntimePipeline pipeline)
    {
        if (type == typeof(Amazon.S3.AmazonS3Client)) pipeline.AddHandlerBefore<Signer>(new Handler());
    }

    private sealed class Handler : PipelineHandler
    {
        public override void InvokeSync(IExecutionContext executionContext)
        {
            executionContext.RequestContext.Request.UseChunkEncoding = false;
            base.InvokeSync(executionContext);
        }

        public override Task<T> InvokeAsync<T>(IExecutionContext executionContext)
        {
            executionContext.RequestContext.Request.UseChunkEncoding = false;
            return base.InvokeAsync<T>(executionContext);
        }
    }
}
