import sys, numpy as np
sys.path.insert(0, '/work/wt-import/test/helpers')
import llama2c_ref as R
M='/work/shared/models/stories260K.bin'
f32=np.float32
def q_int(x, lo, hi, f16=True):
    s=((hi-lo)/f32(15)); s = s.astype(np.float16).astype(f32) if f16 else s.astype(f32)
    nz=s>0; safe=np.where(nz,s,1)
    z=np.where(nz,np.clip(np.rint(-lo/safe),-128,127),0)
    c=np.where(nz,np.clip(np.rint(x/safe)+z,0,15),0)
    return ((c-z)*s).astype(f32)
def q_min(x, lo, hi, f16=True):
    s=((hi-lo)/f32(15));
    if f16: s=s.astype(np.float16).astype(f32); lo=lo.astype(np.float16).astype(f32)
    nz=s>0; safe=np.where(nz,s,1)
    c=np.where(nz,np.clip(np.rint((x-lo)/safe),0,15),0)
    return (c*s+lo).astype(f32)
def q_none(x,lo,hi): return x
cfg,w=R.load(M)
def run(toks, kq, vq, B=32, vwin=False, G=None):
    c=cfg; L=c['layers']; S=c['seq']; hs=c['head']; kvd=c['kv_dim']
    K=np.zeros((L,S,kvd),f32); V=np.zeros((L,S,kvd),f32)
    Kq=np.zeros_like(K); Vq=np.zeros_like(V)
    group=c['heads']//c['kv_heads']; out=[]
    m=R.Model.__new__(R.Model); m.cfg=cfg
    for pos,t in enumerate(toks):
        x=w['emb'][t].astype(np.float64)
        for l in range(L):
            xb=R.rmsnorm(x,w['rms_att'][l]).astype(np.float64)
            q=w['wq'][l]@xb; k=w['wk'][l]@xb; v=w['wv'][l]@xb
            q,k=m.rope(q,pos),m.rope(k,pos)
            K[l,pos]=k; V[l,pos]=v
            hv=V[l,pos].reshape(-1,hs)
            g = G or hs
            hv2=V[l,pos].reshape(-1,g)
            Vq[l,pos]=vq(hv2,hv2.min(1,keepdims=True),hv2.max(1,keepdims=True)).reshape(-1)
            if (pos+1)%B==0:
                blk=K[l,pos+1-B:pos+1]
                Kq[l,pos+1-B:pos+1]=kq(blk,blk.min(0,keepdims=True),blk.max(0,keepdims=True))
            closed=(pos+1)//B*B
            keys_all=np.concatenate([Kq[l,:closed],K[l,closed:pos+1]])
            vals_all=np.concatenate([Vq[l,:closed],V[l,closed:pos+1]]) if vwin else Vq[l,:pos+1]
            att=np.zeros(c['dim'])
            for h in range(c['heads']):
                kvh=h//group; qh=q[h*hs:(h+1)*hs]
                sc=keys_all[:,kvh*hs:(kvh+1)*hs].astype(np.float64)@qh/np.sqrt(hs)
                sc=np.exp(sc-sc.max()); sc/=sc.sum()
                att[h*hs:(h+1)*hs]=sc@vals_all[:,kvh*hs:(kvh+1)*hs]
            x=x+w['wo'][l]@att
            xb=R.rmsnorm(x,w['rms_ffn'][l]).astype(np.float64)
            h1=w['w1'][l]@xb; h3=w['w3'][l]@xb
            x=x+w['w2'][l]@(h1/(1+np.exp(-h1))*h3)
        x=R.rmsnorm(x,w['rms_final']).astype(np.float64)
        out.append(w['cls']@x)
    return np.array(out)
def lsm(a): a=a-a.max(1,keepdims=True); return a-np.log(np.exp(a).sum(1,keepdims=True))
N=int(sys.argv[1]) if len(sys.argv)>1 else 128
ref_tokens=[1]+[int(t) for t in R.run(M,[1],N,None)][:N-1]
F=run(ref_tokens,q_none,q_none)
lf=lsm(F)
def kl(G): lg=lsm(G); return (np.exp(lf)*(lf-lg)).sum(1).mean(), (F.argmax(1)==G.argmax(1)).mean()
for name,kw in [('cur int-z f16',dict(kq=q_int,vq=q_int)),
                ('keys only',dict(kq=q_int,vq=q_none)),
                ('values only',dict(kq=q_none,vq=q_int)),
                ('min f16',dict(kq=q_min,vq=q_min)),
                ('int, vwin',dict(kq=q_int,vq=q_int,vwin=True)),
                ('keys min, vals int',dict(kq=q_min,vq=q_int)),
                ]:
    print(name, *kl(run(ref_tokens,**kw)), flush=True)
